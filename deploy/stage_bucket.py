"""The stage bucket outlives `make destroy` (storage.yml: DeletionPolicy Retain) and keeps its
name, so a redeploy cannot create it again: the new storage stack adopts it, with its data."""

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
