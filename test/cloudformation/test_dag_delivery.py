"""DAG delivery: baked into the image (default), an Airflow 3 S3 DAG bundle, or a git bundle."""

from __future__ import annotations

import json

import pytest

from deploy.templates import containers
from deploy.templates import environment as env

BUNDLE = "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"


def test_image_delivery_leaves_the_default_dags_folder(render):
    for found in containers(render("airflow", "prod")).values():
        for container in found:
            assert BUNDLE not in env(container)


def test_s3_bundle_reads_the_stage_bucket_prefix(render):
    rendered = render("airflow", "prod", DagDelivery="s3-bundle", DagBundlePrefix="dags/")
    (processor,) = containers(rendered)["dag-processor"]
    text, variables = env(processor)[BUNDLE]["Fn::Sub"]
    assert variables == {
        "Bucket": {"Fn::ImportValue": {"Fn::Sub": "${EnvironmentName}-StageBucketName"}}
    }
    rendered_text = text.replace("${Bucket}", "airflow-stage-1-us-east-1").replace(
        "${DagBundlePrefix}", "dags/"
    )
    (bundle,) = json.loads(rendered_text)
    assert bundle["classpath"] == "airflow.providers.amazon.aws.bundles.s3.S3DagBundle"
    assert bundle["kwargs"]["bucket_name"] == "airflow-stage-1-us-east-1"
    assert bundle["kwargs"]["prefix"] == "dags/"
    # every component resolves the same bundle: the scheduler and workers run what was parsed
    (scheduler,) = containers(rendered)["scheduler"]
    assert env(scheduler)[BUNDLE] == env(processor)[BUNDLE]


def test_task_role_can_read_the_stage_bucket(render):
    (policy,) = render("airflow", "prod").resources["TaskRole"]["Properties"]["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert "s3:GetObject" in statements["StageBucketObjects"]["Action"]
    assert "s3:ListBucket" in statements["StageBucketListing"]["Action"]


def test_the_templates_s3_bundle_is_the_shared_rendering(render):
    """airflow.yml writes the S3 bundle's JSON inline (CloudFormation cannot call Python): it must
    equal deploy/dag_delivery.py's rendering, the one every delivery comes from."""
    from deploy.dag_delivery import bundle_config_list

    rendered = render("airflow", "prod", DagDelivery="s3-bundle", DagBundlePrefix="dags/")
    (processor,) = containers(rendered)["dag-processor"]
    text, _ = env(processor)[BUNDLE]["Fn::Sub"]
    from_template = json.loads(
        text.replace("${Bucket}", "stage-bucket").replace("${DagBundlePrefix}", "dags/")
    )
    assert from_template == bundle_config_list("s3-bundle", s3_bucket="stage-bucket")


GIT = {
    "DagDelivery": "git-bundle",
    "GitRepoUrl": "https://git.example.com/data/pipelines.git",
    "GitRef": "v1.4.0",
    "GitRefreshInterval": "120",
}
GIT_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/git-AbCdEf"


def git_bundle_of(rendered, container) -> list[dict]:
    """The container's bundle JSON with the stack's parameter values substituted."""
    text, variables = env(container)[BUNDLE]["Fn::Sub"]
    for name, value in {**rendered.parameters, **variables}.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text
    return json.loads(text)


@pytest.mark.parametrize("secret", ["", GIT_SECRET_ARN])
def test_the_templates_git_bundle_is_the_shared_rendering(render, secret):
    """airflow.yml writes the git bundle's JSON inline too: equal to deploy/dag_delivery.py's
    rendering of the same inputs, with git_conn_id exactly when a connection secret is given."""
    from deploy.dag_delivery import GIT_CONN_ID, GitSource, bundle_config_list

    rendered = render("airflow", "prod", **GIT, GitConnectionSecretArn=secret)
    source = GitSource(
        repo_url=GIT["GitRepoUrl"],
        tracking_ref="v1.4.0",
        subdir="airflow/dags",  # the template's default, this repository's layout
        refresh_interval=120,
        git_conn_id=GIT_CONN_ID if secret else None,
    )
    (processor,) = containers(rendered)["dag-processor"]
    assert git_bundle_of(rendered, processor) == bundle_config_list("git-bundle", git=source)


@pytest.mark.parametrize(
    ("profile", "executor"),
    [("prod", "LocalExecutor"), ("prod", "AwsEcsExecutor"), ("dev", "LocalExecutor")],
)
def test_the_git_bundle_reaches_every_container_the_s3_bundle_reaches(render, profile, executor):
    s3 = render("airflow", profile, Executor=executor, DagDelivery="s3-bundle")
    git = render("airflow", profile, Executor=executor, **GIT)
    with_s3 = {name for name, found in containers(s3).items() if BUNDLE in env(found[0])}
    with_git = {name for name, found in containers(git).items() if BUNDLE in env(found[0])}
    assert with_git == with_s3
    assert {"dag-processor", "scheduler"} <= with_git
    bundles = [git_bundle_of(git, c) for found in containers(git).values() for c in found]
    assert all(bundle == bundles[0] for bundle in bundles)
    assert bundles[0][0]["kwargs"]["tracking_ref"] == "v1.4.0"
