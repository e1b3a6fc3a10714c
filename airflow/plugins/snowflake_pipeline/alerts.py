"""Failure alerts: a task that fails for good (retries exhausted, or failed at once) publishes one
message to the SNS topic in PIPELINE_ALERTS_TOPIC_ARN, through the amazon provider's SnsNotifier.

The topic is read when a task fails, not when a DAG file is parsed, so parsing stays free of
boto3 and a deployment without a topic simply sends nothing (and logs that it did not).
"""

from __future__ import annotations

import logging
import os
from urllib.parse import quote

TOPIC_ENV = "PIPELINE_ALERTS_TOPIC_ARN"
AWS_CONNECTION_ID = "aws_default"  # on ECS none is defined: the task role's credentials
SUBJECT_LIMIT = 100  # SNS refuses longer subjects

log = logging.getLogger(__name__)


def failure_message(context) -> tuple[str, str]:
    """(subject, message) naming the DAG, run, task, the error's first line and the UI link."""
    ti = context["ti"]
    dag_id, run_id, task_id = ti.dag_id, ti.run_id, ti.task_id
    error = str(context.get("exception") or "no exception recorded").strip()
    first_line = error.splitlines()[0] if error else "no exception recorded"
    base_url = _ui_base_url()
    link = f"{base_url}/dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{task_id}"
    subject = f"[airflow] {dag_id}.{task_id} failed"[:SUBJECT_LIMIT]
    message = "\n".join(
        [
            f"DAG:   {dag_id}",
            f"Run:   {run_id}",
            f"Task:  {task_id} (try {getattr(ti, 'try_number', '?')})",
            f"Error: {first_line}",
            f"Log:   {link}",
        ]
    )
    return subject, message


def _ui_base_url() -> str:
    from airflow.configuration import conf

    return (conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")


def notify_failure(context) -> None:
    """on_failure_callback of every task (dag_defaults.DEFAULT_ARGS)."""
    topic = os.environ.get(TOPIC_ENV)
    if not topic:
        log.info("No %s set: no failure alert sent", TOPIC_ENV)
        return
    from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

    subject, message = failure_message(context)
    SnsNotifier(
        aws_conn_id=AWS_CONNECTION_ID, target_arn=topic, subject=subject, message=message
    ).notify(context)
    log.info("Failure alert sent to %s: %s", topic, subject)
