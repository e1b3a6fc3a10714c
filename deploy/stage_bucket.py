"""The stage bucket outlives `make destroy` (storage.yml: DeletionPolicy Retain) and keeps its
name, so a redeploy cannot create it again: the new storage stack adopts it, with its data, and
`make deploy` gives it the event notification the stack gives a bucket it creates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deploy import stacks, templates

EXISTING_PARAMETER = "ExistingStageBucketName"


def default_name(environment_name: str, account: str, region: str) -> str:
    """The name storage.yml gives the bucket it creates (its BucketName, evaluated here)."""
    properties = templates.load("storage")["Resources"]["StageBucket"]["Properties"]
    name = properties["BucketName"]["Fn::Sub"]
    for variable, value in (
        ("EnvironmentName", environment_name),
        ("AWS::AccountId", account),
        ("AWS::Region", region),
    ):
        name = name.replace(f"${{{variable}}}", value)
    return name


def existing_bucket_parameter(
    s3: Any,
    cloudformation: Any,
    environment_name: str,
    account: str,
    region: str,
    say: Callable[[str], None] = print,
) -> str:
    """ExistingStageBucketName for this deploy: a live stack keeps its own value; a new stack
    adopts the bucket an earlier one retained, if this account has it, else creates one."""
    stack = stacks.describe(cloudformation, stacks.stack_name(environment_name, "storage"))
    if stacks.is_live(stack):
        return stacks.parameters(stack).get(EXISTING_PARAMETER, "")
    bucket = default_name(environment_name, account, region)
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchBucket", "403", "AccessDenied"):
            return ""  # none, or not ours: the stack creates it (and says so if it cannot)
        raise
    say(f"  {bucket}: retained by an earlier deploy; the new storage stack adopts it and its data")
    return bucket


def bucket_name(existing_parameter: str, environment_name: str, account: str, region: str) -> str:
    """The stage bucket the storage stack uses: the adopted one, else the one it created."""
    return existing_parameter or default_name(environment_name, account, region)


# The notification `make deploy` puts on an adopted bucket: CloudFormation sets it only on a
# bucket its stack creates (storage.yml's StageBucket), and cannot change one it did not.
EVENTS_ID = "stage-events"


def event_queue_name(environment_name: str) -> str:
    """The name storage.yml gives the event queue (its QueueName, evaluated here)."""
    properties = templates.load("storage")["Resources"]["EventQueue"]["Properties"]
    return properties["QueueName"]["Fn::Sub"].replace("${EnvironmentName}", environment_name)


def queue_configurations(notification: dict[str, Any], configuration_id: str) -> list[dict]:
    """A template's resolved NotificationConfiguration.QueueConfigurations in the S3 API's shape."""
    return [
        {
            "Id": configuration_id,
            "QueueArn": config["Queue"],
            "Events": [config["Event"]],
            "Filter": {"Key": {"FilterRules": config["Filter"]["S3Key"]["Rules"]}},
        }
        for config in notification["QueueConfigurations"]
    ]


def _same(configs: list[dict]) -> list[tuple]:
    # S3 answers "Prefix" for the rule named "prefix"; the Id does not matter
    return sorted(
        (
            c["QueueArn"],
            tuple(sorted(c["Events"])),
            tuple(
                sorted((r["Name"].lower(), r["Value"]) for r in c["Filter"]["Key"]["FilterRules"])
            ),
        )
        for c in configs
    )


def ensure_event_notification(
    s3: Any, sqs: Any, bucket: str, storage: templates.Rendered, account: str
) -> str:
    """Give an adopted bucket the notification storage.yml gives the bucket it creates. The
    bucket's other configurations are kept; those naming this stack's queue (left by an earlier
    stack, whose queue had the same name) are replaced."""
    environment_name = storage.parameters["EnvironmentName"]
    url = sqs.get_queue_url(QueueName=event_queue_name(environment_name))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    notification = storage.resolve(
        storage.template["Resources"]["StageBucket"]["Properties"]["NotificationConfiguration"]
    )
    for config in notification["QueueConfigurations"]:
        config["Queue"] = queue_arn  # the template's GetAtt EventQueue.Arn
    wanted = queue_configurations(notification, EVENTS_ID)
    current = s3.get_bucket_notification_configuration(Bucket=bucket, ExpectedBucketOwner=account)
    current.pop("ResponseMetadata", None)
    queues = current.get("QueueConfigurations", [])
    ours = [c for c in queues if c["QueueArn"] == queue_arn]
    if _same(ours) == _same(wanted):
        return f"landed-file events already go to {queue_arn}"
    others = [c for c in queues if c["QueueArn"] != queue_arn]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        ExpectedBucketOwner=account,
        NotificationConfiguration={**current, "QueueConfigurations": others + wanted},
    )
    return f"landed-file events now go to {queue_arn} (set by make deploy: an adopted bucket)"
