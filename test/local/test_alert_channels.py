"""Alerts delivered: to the SNS topic (moto's server, an SQS queue subscribed) and to Slack (a
local HTTP endpoint standing in for its incoming webhook, the URL in a Secrets Manager secret),
through the providers' notifiers, each channel on its own."""

import asyncio
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from local.landing_events import clients, receive_all
from local.settings import free_port
from snowflake_pipeline.alerts import (
    SLACK_SECRET_ENV,
    TOPIC_ENV,
    failure_message,
    notify_failure,
    notify_late,
)
from test.plugins.test_alerts import _context, _late_context


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
        Name=f"slack-{uuid.uuid4().hex}", SecretString=f"{webhook}/services/T0/B0/XYZ"
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
    arn = secrets.create_secret(Name=f"bad-{uuid.uuid4().hex}", SecretString="T0/B0/XYZ")["ARN"]
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
