"""storage.yml: the stage bucket, the Snowflake storage integration role, the ECR repository."""

from __future__ import annotations

import json


def bucket(render):
    return render("storage").resources["StageBucket"]["Properties"]


def on_stage_bucket(text, bucket=None):
    """How the template names the stage bucket in an ARN or URL: the bucket it created, or the
    retained one it adopted (ExistingStageBucketName), rendered."""
    return {"Fn::Sub": [text, {"Bucket": bucket or {"Ref": "StageBucket"}}]}


def test_stage_bucket_is_encrypted_versioned_and_private(render):
    props = bucket(render)
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_stage_bucket_has_lifecycle_rules(render):
    rules = {r["Id"]: r for r in bucket(render)["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": "30"
    }
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }
    dev = render("storage", "dev").resources["StageBucket"]["Properties"]
    (dev_rule,) = [
        r for r in dev["LifecycleConfiguration"]["Rules"] if r["Id"] == "expire-noncurrent-versions"
    ]
    assert dev_rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": "7"}


def test_bucket_policy_denies_plain_http(render):
    policy = render("storage").resources["StageBucketPolicy"]["Properties"]["PolicyDocument"]
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert on_stage_bucket("arn:${AWS::Partition}:s3:::${Bucket}/*") in statement["Resource"]


def role(rendered):
    return rendered.resources["SnowflakeStorageIntegrationRole"]["Properties"]


def test_snowflake_role_trusts_only_this_account_until_step_two(render):
    (statement,) = role(render("storage"))["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    assert statement["Condition"] == {
        "StringEquals": {"sts:ExternalId": "pending-snowflake-integration"}
    }


def test_snowflake_role_trusts_the_integration_user_with_its_external_id(render):
    user = "arn:aws:iam::999988887777:user/abc0-s-xyz"
    rendered = render("storage", SnowflakeIamUserArn=user, SnowflakeExternalId="AB12_SFCRole=x")
    (statement,) = role(rendered)["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": user}
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == "AB12_SFCRole=x"


def test_snowflake_role_only_reads_the_landing_prefix(render):
    (policy,) = role(render("storage"))["Policies"]
    actions = {
        action
        for statement in policy["PolicyDocument"]["Statement"]
        for action in statement["Action"]
    }
    assert actions == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
        "s3:GetBucketLocation",
    }
    (read,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "ReadLandedFiles"]
    assert read["Resource"] == on_stage_bucket(
        "arn:${AWS::Partition}:s3:::${Bucket}/${LandingPrefix}*"
    )


def test_stage_url_output_points_at_the_landing_prefix(render):
    rendered = render("storage")
    url = rendered.resolve(rendered.template["Outputs"]["StageUrl"]["Value"])
    assert url == on_stage_bucket("s3://${Bucket}/${LandingPrefix}")
    assert render("storage").parameters["LandingPrefix"] == "landing/"


def test_ecr_scans_on_push_and_expires_old_images(render):
    repo = render("storage").resources["ImageRepository"]["Properties"]
    assert repo["ImageScanningConfiguration"] == {"ScanOnPush": True}
    text = repo["LifecyclePolicy"]["LifecyclePolicyText"]["Fn::Sub"].replace(
        "${ImagesToKeep}", "10"
    )
    rules = json.loads(text)["rules"]
    assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]
    assert rules[1]["selection"]["countNumber"] == 10


RETAINED = "airflow-stage-123456789012-us-east-1"


def test_a_retained_bucket_is_adopted_not_created_again(render):
    """After `make destroy` the bucket (DeletionPolicy Retain) still exists with its name and
    data: a new stack given its name creates no bucket and points everything at that one."""
    assert "StageBucket" in render("storage").resources  # the default: the stack creates it
    adopted = render("storage", ExistingStageBucketName=RETAINED)
    assert "StageBucket" not in adopted.resources
    assert adopted.resources["StageBucketPolicy"]["Properties"]["Bucket"] == RETAINED
    outputs = {k: adopted.resolve(v["Value"]) for k, v in adopted.template["Outputs"].items()}
    assert outputs["StageBucketName"] == RETAINED
    assert outputs["StageBucketArn"] == on_stage_bucket(
        "arn:${AWS::Partition}:s3:::${Bucket}", RETAINED
    )
    assert outputs["StageUrl"] == on_stage_bucket("s3://${Bucket}/${LandingPrefix}", RETAINED)
    (policy,) = role(adopted)["Policies"]
    resources = [s["Resource"] for s in policy["PolicyDocument"]["Statement"]]
    assert all(r["Fn::Sub"][1] == {"Bucket": RETAINED} for r in resources)


def test_the_bucket_keeps_its_data_when_the_stack_goes(raw):
    resource = raw["storage"]["Resources"]["StageBucket"]
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
