"""DAG delivery: baked into the image (default) or an Airflow 3 S3 DAG bundle."""

from __future__ import annotations

import json

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
