"""The local stack's failure alerts, wired as on AWS: the tasks publish to a moto SNS topic, and
a moto SQS queue subscribed to it keeps every message, where `make run` and the tests read them
(on AWS the topic's subscriber is an email address)."""

from __future__ import annotations

import json

from local.landing_events import MOTO_ACCOUNT, REGION, clients, receive_all

TOPIC_NAME = "pipeline-alerts"
INBOX_NAME = "pipeline-alerts-inbox"


def topic_arn() -> str:
    """Known before moto runs, so that the Airflow processes start with it."""
    return f"arn:aws:sns:{REGION}:{MOTO_ACCOUNT}:{TOPIC_NAME}"


def _clients(endpoint: str):
    return clients(endpoint, ("sns", "sqs"))


def ensure(endpoint: str) -> str:
    """The topic, the inbox queue and its subscription (idempotent); the inbox's URL."""
    sns, sqs = _clients(endpoint)
    arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    url = sqs.create_queue(QueueName=INBOX_NAME)["QueueUrl"]
    inbox = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    subscribed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    if not any(s["Endpoint"] == inbox for s in subscribed):
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=inbox)
    return url


def take(endpoint: str) -> list[dict]:
    """Every alert waiting in the inbox, removed from it: [{"subject": ..., "message": ...}]."""
    _, sqs = _clients(endpoint)
    url = sqs.get_queue_url(QueueName=INBOX_NAME)["QueueUrl"]
    return [
        {"subject": body.get("Subject"), "message": body.get("Message")}
        for body in (json.loads(m["Body"]) for m in receive_all(sqs, url))  # SNS's envelope
    ]
