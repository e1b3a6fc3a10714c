"""storage.yml: the stage bucket, the Snowflake storage integration role, the ECR repository."""

from __future__ import annotations

import json


def bucket(render):
    return render("storage").resources["StageBucket"]["Properties"]


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
    assert {"Fn::Sub": "${StageBucket.Arn}/*"} in statement["Resource"]


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
    assert read["Resource"] == {"Fn::Sub": "${StageBucket.Arn}/${LandingPrefix}*"}


def test_stage_url_output_points_at_the_landing_prefix(render):
    outputs = render("storage").template["Outputs"]
    assert outputs["StageUrl"]["Value"] == {"Fn::Sub": "s3://${StageBucket}/${LandingPrefix}"}
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
