"""Alerts: a task that fails for good (retries exhausted, or failed at once) and a snowflake_raw
run still unfinished `late_after_seconds` after it was queued (an Airflow Deadline Alert, the
schedule's SLA) each send one message, through the providers' notifiers:

- to the SNS topic in PIPELINE_ALERTS_TOPIC_ARN (SnsNotifier; its subscribers: e-mail), and
- to Slack when PIPELINE_ALERTS_SLACK_SECRET_ARN names a Secrets Manager secret holding an
  incoming-webhook URL (SlackWebhookNotifier).

Both are read when an alert is sent, not when a DAG file is parsed, so parsing stays free of
boto3 and a deployment without them simply sends nothing (and logs that it did not). Failure
alerts run in the failed task's process; lateness alerts in the triggerer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import timedelta
from urllib.parse import quote

TOPIC_ENV = "PIPELINE_ALERTS_TOPIC_ARN"
SLACK_SECRET_ENV = "PIPELINE_ALERTS_SLACK_SECRET_ARN"  # noqa: S105 - a variable name
# The Slack notifier takes a connection: this one is made from the secret when an alert is sent.
SLACK_CONNECTION_ID = "pipeline_alerts_slack"
AWS_CONNECTION_ID = "aws_default"  # on ECS none is defined: the task role's credentials
SUBJECT_LIMIT = 100  # SNS refuses longer subjects

log = logging.getLogger(__name__)


def failure_message(context) -> tuple[str, str]:
    """(subject, message) naming the DAG, run, task, the error's first line and the UI link."""
    ti = context["ti"]
    dag_id, run_id, task_id = ti.dag_id, ti.run_id, ti.task_id
    error = str(context.get("exception") or "no exception recorded").strip()
    first_line = error.splitlines()[0] if error else "no exception recorded"
    subject = f"[airflow] {dag_id}.{task_id} failed"[:SUBJECT_LIMIT]
    message = "\n".join(
        [
            f"DAG:   {dag_id}",
            f"Run:   {run_id}",
            f"Task:  {task_id} (try {getattr(ti, 'try_number', '?')})",
            f"Error: {first_line}",
            f"Log:   {_run_link(dag_id, run_id)}/tasks/{task_id}",
        ]
    )
    return subject, message


def late_message(context, late_after_seconds: int) -> tuple[str, str]:
    """(subject, message) of a missed deadline: the DAG, run, how late and the UI link.
    `context` is what the scheduler hands a deadline's callback: the run as the REST API
    returns it, and the deadline."""
    run = context["dag_run"]
    dag_id, run_id = run["dag_id"], run["dag_run_id"]
    subject = f"[airflow] {dag_id} run late"[:SUBJECT_LIMIT]
    message = "\n".join(
        [
            f"DAG:   {dag_id}",
            f"Run:   {run_id}",
            f"Late:  not finished {timedelta(seconds=late_after_seconds)} after it was queued "
            f"({run.get('queued_at')}); state {run.get('state')}",
            f"Log:   {_run_link(dag_id, run_id)}",
        ]
    )
    return subject, message


def _run_link(dag_id: str, run_id: str) -> str:
    from airflow.configuration import conf

    base_url = (conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")
    return f"{base_url}/dags/{dag_id}/runs/{quote(run_id, safe='')}"


def notify_failure(context) -> None:
    """on_failure_callback of every task (dag_defaults.DEFAULT_ARGS)."""
    send(*failure_message(context), context)


async def notify_late(late_after_seconds: int, context) -> None:
    """A Deadline Alert's callback, awaited by the triggerer (raw_deadline). Airflow drops a
    run's deadline when it succeeds, not when it fails: a run that failed in time has had its
    failure alert and is not late."""
    state = context["dag_run"].get("state")
    if state in ("success", "failed"):
        log.info("Run %s %s before its deadline: not late", context["dag_run"]["dag_run_id"], state)
        return
    subject, message = late_message(context, late_after_seconds)
    # The notifiers' sync paths, off the triggerer's event loop.
    await asyncio.to_thread(send, subject, message, context)


def raw_deadline(late_after_seconds: int | None):
    """The DeadlineAlert of snowflake_raw: a run unfinished this long after it was queued."""
    if late_after_seconds is None:
        return None
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=late_after_seconds),
        callback=AsyncCallback(notify_late, kwargs={"late_after_seconds": late_after_seconds}),
    )


def send(subject: str, message: str, context) -> list[str]:
    """Send to every configured channel; the channels it went to. One channel failing does not
    keep the alert from the others (its error is raised after them)."""
    channels = {
        "SNS": (os.environ.get(TOPIC_ENV), _to_sns),
        "Slack": (os.environ.get(SLACK_SECRET_ENV), _to_slack),
    }
    sent, errors = [], []
    for name, (target, deliver) in channels.items():
        if not target:
            continue
        try:
            deliver(target, subject, message, context)
        except Exception as error:  # noqa: BLE001 - the other channel still gets the alert
            log.exception("%s alert not sent", name)
            errors.append(error)
        else:
            sent.append(name)
            log.info("Alert sent to %s: %s", name, subject)
    if not sent and not errors:
        log.info("No %s or %s set: no alert sent", TOPIC_ENV, SLACK_SECRET_ENV)
    if errors:
        raise errors[0]
    return sent


def _to_sns(topic: str, subject: str, message: str, context) -> None:
    from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

    # notify(), not the notifier called: the message is sent as it is, never rendered as a
    # template (an error's text may hold braces).
    SnsNotifier(
        aws_conn_id=AWS_CONNECTION_ID, target_arn=topic, subject=subject, message=message
    ).notify(context)


def _to_slack(secret_arn: str, subject: str, message: str, context) -> None:
    from airflow.providers.amazon.aws.hooks.secrets_manager import SecretsManagerHook
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    url = SecretsManagerHook(aws_conn_id=AWS_CONNECTION_ID).get_secret(secret_arn).strip()
    if "://" not in url:
        raise ValueError(
            f"the secret {secret_arn} ({SLACK_SECRET_ENV}) must hold a Slack incoming-webhook "
            "URL (https://hooks.slack.com/services/...)"
        )
    # An environment connection of this process only: the URL stays out of the metadata DB.
    os.environ[f"AIRFLOW_CONN_{SLACK_CONNECTION_ID.upper()}"] = json.dumps(
        {"conn_type": "slackwebhook", "password": url}
    )
    SlackWebhookNotifier(
        slack_webhook_conn_id=SLACK_CONNECTION_ID, text=f"*{subject}*\n```\n{message}\n```"
    ).notify(context)
