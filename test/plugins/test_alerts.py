"""Alerts: the failure message names DAG, run, task, the error's first line and the UI link;
the lateness message the run and how late; every task of both DAGs carries the failure callback
and snowflake_raw the Deadline Alert; an alert reaches the SNS topic and the Slack webhook
(moto's server and a local HTTP endpoint standing in for Slack), each on its own."""

import asyncio
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from local.landing_events import clients, receive_all
from local.settings import free_port
from snowflake_pipeline.alerts import (
    SLACK_SECRET_ENV,
    SUBJECT_LIMIT,
    TOPIC_ENV,
    failure_message,
    late_message,
    notify_failure,
    notify_late,
    raw_deadline,
)
from snowflake_pipeline.dag_defaults import DEFAULT_ARGS


def _context(task_id="load_weather", error="first line\nsecond line"):
    ti = SimpleNamespace(
        dag_id="snowflake_raw", run_id="manual__2026-12-05T05:00:00+00:00", task_id=task_id,
        try_number=3,
    )  # fmt: skip
    return {"ti": ti, "exception": RuntimeError(error)}


def test_the_message_names_dag_run_task_first_error_line_and_link(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    subject, message = failure_message(_context())
    assert subject == "[airflow] snowflake_raw.load_weather failed"
    assert message.splitlines() == [
        "DAG:   snowflake_raw",
        "Run:   manual__2026-12-05T05:00:00+00:00",
        "Task:  load_weather (try 3)",
        "Error: first line",
        "Log:   https://airflow.example.com/dags/snowflake_raw/runs/"
        "manual__2026-12-05T05%3A00%3A00%2B00%3A00/tasks/load_weather",
    ]


def test_a_long_task_id_keeps_the_subject_within_what_sns_accepts():
    subject, _ = failure_message(_context(task_id="check_" + "x" * 200))
    assert len(subject) == SUBJECT_LIMIT


def test_without_a_topic_nothing_is_sent(monkeypatch, caplog):
    monkeypatch.delenv("PIPELINE_ALERTS_TOPIC_ARN", raising=False)
    monkeypatch.delenv("PIPELINE_ALERTS_SLACK_SECRET_ARN", raising=False)
    caplog.set_level("INFO")
    notify_failure(_context())
    assert "no alert sent" in caplog.text


def test_both_dags_share_the_callback():
    assert DEFAULT_ARGS["on_failure_callback"] is notify_failure


def _late_context():
    run = {"dag_id": "snowflake_raw", "dag_run_id": "asset_triggered__2026-12-05T06:00:00+00:00",
           "queued_at": "2026-12-05T06:00:01Z", "state": "running"}  # fmt: skip
    return {"dag_run": run, "deadline": {"id": "d1", "deadline_time": "2026-12-05T07:00:01Z"}}


def test_the_lateness_message_names_the_run_how_late_and_links_it(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com")
    subject, message = late_message(_late_context(), 5400)
    assert subject == "[airflow] snowflake_raw run late"
    assert message.splitlines() == [
        "DAG:   snowflake_raw",
        "Run:   asset_triggered__2026-12-05T06:00:00+00:00",
        "Late:  not finished 1:30:00 after it was queued (2026-12-05T06:00:01Z); state running",
        "Log:   https://airflow.example.com/dags/snowflake_raw/runs/"
        "asset_triggered__2026-12-05T06%3A00%3A00%2B00%3A00",
    ]


def test_the_deadline_counts_from_queued_and_calls_back_in_the_triggerer():
    from airflow.sdk import AsyncCallback, DeadlineReference

    assert raw_deadline(None) is None
    deadline = raw_deadline(900)
    assert deadline.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert deadline.interval == timedelta(minutes=15)
    assert isinstance(deadline.callback, AsyncCallback)  # awaited by the triggerer
    assert deadline.callback.path == "snowflake_pipeline.alerts.notify_late"
    assert deadline.callback.kwargs == {"late_after_seconds": 900}


class _Webhook(BaseHTTPRequestHandler):
    """Slack's incoming webhook as the notifier meets it: POST a JSON body, answer `ok`."""

    received: list[tuple[str, dict]] = []
    status = 200

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, body))
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"ok" if self.status == 200 else b"invalid_token")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def aws():
    """A moto server (every service on one port), as the local stack runs it."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def webhook():
    _Webhook.received, _Webhook.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def channels(aws, webhook, monkeypatch):
    """The alerts topic with an SQS inbox, and the webhook's URL in a Secrets Manager secret,
    the environment set as the stacks set it; returns a reader of the inbox."""
    sns, sqs, secrets = clients(aws, ("sns", "sqs", "secretsmanager"))
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["Attributes"]["QueueArn"])
    secret = secrets.create_secret(
        Name=f"slack-{free_port()}", SecretString=f"{webhook}/services/T0/B0/XYZ"
    )["ARN"]
    connection = {"conn_type": "aws", "login": "local", "password": "local",
                  "extra": {"endpoint_url": aws, "region_name": "us-east-1"}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    monkeypatch.setenv(TOPIC_ENV, topic)
    monkeypatch.setenv(SLACK_SECRET_ENV, secret)

    def sns_received():
        return [json.loads(m["Body"]) for m in receive_all(sqs, inbox)]

    yield sns_received
    receive_all(sqs, inbox)


def test_a_failure_reaches_the_topic_and_slack_once_each(channels):
    notify_failure(_context())
    expected_subject, expected_message = failure_message(_context())
    (published,) = channels()
    assert (published["Subject"], published["Message"]) == (expected_subject, expected_message)
    ((path, body),) = _Webhook.received
    assert path == "/services/T0/B0/XYZ"  # the secret's URL, whole
    assert body["text"] == f"*{expected_subject}*\n```\n{expected_message}\n```"


def test_a_lateness_alert_is_sent_from_the_triggerers_event_loop(channels):
    asyncio.run(notify_late(late_after_seconds=60, context=_late_context()))
    (published,) = channels()
    assert published["Subject"] == "[airflow] snowflake_raw run late"
    assert "not finished 0:01:00 after it was queued" in published["Message"]
    assert len(_Webhook.received) == 1


def test_slack_refusing_the_alert_still_lets_the_topic_have_it(channels):
    _Webhook.status = 403
    with pytest.raises(Exception, match="invalid_token|403"):
        notify_failure(_context())
    assert len(channels()) == 1


def test_a_secret_that_is_not_a_url_is_named_without_its_value(channels, monkeypatch, aws):
    (secrets,) = clients(aws, ("secretsmanager",))
    arn = secrets.create_secret(Name=f"bad-{free_port()}", SecretString="T0/B0/XYZ")["ARN"]
    monkeypatch.setenv(SLACK_SECRET_ENV, arn)
    with pytest.raises(ValueError, match="must hold a Slack incoming-webhook URL") as raised:
        notify_failure(_context())
    assert arn in str(raised.value) and "XYZ" not in str(raised.value)
    assert len(channels()) == 1


def test_a_run_that_failed_before_its_deadline_is_not_late(channels):
    context = _late_context()
    context["dag_run"]["state"] = "failed"  # Airflow keeps a failed run's deadline
    asyncio.run(notify_late(late_after_seconds=60, context=context))
    assert channels() == [] and _Webhook.received == []
