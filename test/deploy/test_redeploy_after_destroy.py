"""Defect 9: `make deploy` after `make destroy`, on a moto server. The core secret is pending
deletion and the stage bucket was retained with its data; the redeploy takes both back."""

from __future__ import annotations

import json
import urllib.parse

from deploy import inputs, orchestrate, stage_bucket
from deploy.airflow_secrets import core_secret_name

RETAINED_BUCKET = "airflow-stage-123456789012-us-east-1"  # storage.yml's name on moto's account


def deploy(aws, deploy_env):
    said = []
    collected = inputs.collect({"profile": "prod"}, deploy_env)
    orchestrate.deploy(
        collected, aws, say=said.append, docker=False, migrate=lambda *_: None, poll=0.05
    )
    return "\n".join(said)


def destroy(aws):
    orchestrate.destroy("airflow", aws, delete_database=True, say=lambda _: None, poll=0.05)


def test_redeploy_restores_the_core_secret_with_its_keys(aws, stand_in_templates, deploy_env):
    deploy(aws, deploy_env)
    name = core_secret_name("airflow")
    keys = aws.secretsmanager.get_secret_value(SecretId=name)["SecretString"]
    destroy(aws)
    assert "DeletedDate" in aws.secretsmanager.describe_secret(SecretId=name)

    said = deploy(aws, deploy_env)

    assert "DeletedDate" not in aws.secretsmanager.describe_secret(SecretId=name)
    # the same Fernet key: it decrypts the connections of the database's final snapshot
    assert aws.secretsmanager.get_secret_value(SecretId=name)["SecretString"] == keys
    assert f"{name}: restored (make destroy had scheduled it for deletion)" in said


def test_redeploy_adopts_the_retained_stage_bucket_and_its_data(
    aws, stand_in_templates, deploy_env
):
    deploy(aws, deploy_env)
    aws.s3.put_object(Bucket=RETAINED_BUCKET, Key="landing/flights/2013-01.json", Body=b"{}\n")
    destroy(aws)
    assert aws.s3.head_bucket(Bucket=RETAINED_BUCKET)  # DeletionPolicy: Retain

    said = deploy(aws, deploy_env)

    (stack,) = aws.cloudformation.describe_stacks(StackName="airflow-storage")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters[stage_bucket.EXISTING_PARAMETER] == RETAINED_BUCKET
    body = aws.s3.get_object(Bucket=RETAINED_BUCKET, Key="landing/flights/2013-01.json")["Body"]
    assert body.read() == b"{}\n"
    assert f"{RETAINED_BUCKET}: retained by an earlier deploy" in said
    # and a further deploy keeps it adopted, changing nothing
    assert "airflow-storage: no changes" in deploy(aws, deploy_env)


def test_the_first_deploy_creates_the_bucket(aws, stand_in_templates, deploy_env):
    deploy(aws, deploy_env)
    (stack,) = aws.cloudformation.describe_stacks(StackName="airflow-storage")["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters[stage_bucket.EXISTING_PARAMETER] == ""
    assert RETAINED_BUCKET in {b["Name"] for b in aws.s3.list_buckets()["Buckets"]}


def landed_events(aws, queue_url):
    """Keys of the ObjectCreated records on the queue (moto URL-encodes "/" in keys; S3 does not:
    unquote_plus reads both). Received messages are deleted, as the trigger does."""
    keys = []
    while messages := aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages"
    ):
        for message in messages:
            for record in json.loads(message["Body"]).get("Records", []):  # none in s3:TestEvent
                assert record["eventName"].startswith("ObjectCreated:")
                keys.append(urllib.parse.unquote_plus(record["s3"]["object"]["key"]))
            aws.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return keys


def test_an_adopted_bucket_notifies_the_new_queue_and_keeps_its_other_notifications(
    aws, stand_in_templates, deploy_env
):
    """CloudFormation cannot set a notification on a bucket it did not create: make deploy does,
    replacing what an earlier stack left for the same queue (same name) and keeping the rest."""
    deploy(aws, deploy_env)
    destroy(aws)
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:airflow-stage-events"
    other = aws.sqs.create_queue(QueueName="someone-elses-exports")["QueueUrl"]
    other_arn = aws.sqs.get_queue_attributes(QueueUrl=other, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]

    def on(arn, prefix, configuration_id):
        return {
            "Id": configuration_id,
            "QueueArn": arn,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
        }

    aws.s3.put_bucket_notification_configuration(
        Bucket=RETAINED_BUCKET,
        NotificationConfiguration={
            # what an earlier stack left for its queue (then with another LandingPrefix), and
            # someone else's
            "QueueConfigurations": [
                on(queue_arn, "incoming/", "left"),
                on(other_arn, "exports/", "x"),
            ]
        },
    )

    said = deploy(aws, deploy_env)

    assert f"{RETAINED_BUCKET}: landed-file events now go to {queue_arn}" in said
    found = aws.s3.get_bucket_notification_configuration(Bucket=RETAINED_BUCKET)
    assert sorted(found["QueueConfigurations"], key=lambda c: c["Id"]) == [
        on(queue_arn, "landing/", stage_bucket.EVENTS_ID),
        on(other_arn, "exports/", "x"),
    ]
    queue = aws.sqs.get_queue_url(QueueName="airflow-stage-events")["QueueUrl"]
    landed_events(aws, queue)  # moto's s3:TestEvent
    aws.s3.put_object(Bucket=RETAINED_BUCKET, Key="landing/flights/2013-02.json", Body=b"{}\n")
    aws.s3.put_object(Bucket=RETAINED_BUCKET, Key="dags/pipeline.py", Body=b"# not landed\n")
    assert landed_events(aws, queue) == ["landing/flights/2013-02.json"]
    # a further deploy finds it in place and changes nothing
    assert f"{RETAINED_BUCKET}: landed-file events already go to {queue_arn}" in deploy(
        aws, deploy_env
    )
