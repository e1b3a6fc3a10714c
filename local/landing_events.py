"""The local stack's landing events, wired as on AWS: moto's S3 notifies a moto SQS queue of every
object created under the stage's path, and Airflow's triggerer watches that queue."""

from __future__ import annotations

import time
from pathlib import Path

from local.settings import LANDING_BUCKET

QUEUE_NAME = "landing-events"
MOTO_ACCOUNT = "123456789012"  # moto's default account: part of every queue URL it answers
REGION = "us-east-1"


def queue_url(endpoint: str) -> str:
    """Known before moto runs, so that the Airflow processes start with it."""
    return f"{endpoint}/{MOTO_ACCOUNT}/{QUEUE_NAME}"


def clients(endpoint: str, services=("s3", "sqs")):
    """Clients of the moto server at `endpoint` (one server answers every service)."""
    import boto3

    creds = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}  # moto takes any
    return tuple(
        boto3.client(name, endpoint_url=endpoint, region_name=REGION, **creds) for name in services
    )


def receive_all(sqs, url: str) -> list[dict]:
    """Every waiting message, deleted as received (PurgeQueue works once a minute)."""
    received = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        entries = [{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in messages]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        received += messages
    return received


def create_queue(endpoint: str) -> str:
    """The queue (idempotent); its URL."""
    _, sqs = clients(endpoint)
    return sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]


def ensure(endpoint: str, stage_path: str, echo=print) -> str:
    """The queue and the bucket's ObjectCreated notification to it (idempotent). The samples
    land before this, so that `make run`'s own run loads them; the s3:TestEvent that setting up a
    notification sends is dropped."""
    s3, sqs = clients(endpoint)
    url = create_queue(endpoint)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    current = s3.get_bucket_notification_configuration(Bucket=LANDING_BUCKET)
    if any(c["QueueArn"] == arn for c in current.get("QueueConfigurations", [])):
        return url
    rule = {"Key": {"FilterRules": [{"Name": "prefix", "Value": stage_path}]}}
    s3.put_bucket_notification_configuration(
        Bucket=LANDING_BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": rule}
            ]
        },
    )
    drain(endpoint, url)
    echo(f"  landing events: s3://{LANDING_BUCKET}/{stage_path} -> {url}")
    return url


def drain(endpoint: str, url: str) -> int:
    """Drop every waiting message; how many."""
    return len(receive_all(clients(endpoint)[1], url))


def land_file(endpoint: str, path: Path, key: str) -> float:
    """Put a file as an upstream would; the time it landed."""
    s3, _ = clients(endpoint)
    s3.put_object(Bucket=LANDING_BUCKET, Key=key, Body=path.read_bytes())
    return time.time()
