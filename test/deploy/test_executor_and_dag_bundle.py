"""Defect 13b/c: Executor and DagDelivery chosen from the CLI; with DagDelivery=s3-bundle the
DAG folder is uploaded to the stage bucket prefix the template reads, before the components
start, and nothing is uploaded again when nothing changed (on a moto server)."""

from __future__ import annotations

import pytest

from deploy import build_context, cli, dag_bundle, inputs, orchestrate

BUCKET = "airflow-stage-123456789012-us-east-1"


def stack_parameters(aws, name):
    (stack,) = aws.cloudformation.describe_stacks(StackName=name)["Stacks"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def deploy(aws, deploy_env, migrate=lambda *_: None, flags=None, **env):
    said = []
    collected = inputs.collect({"profile": "prod", **(flags or {})}, {**deploy_env, **env})
    orchestrate.deploy(collected, aws, say=said.append, docker=False, migrate=migrate, poll=0.05)
    return "\n".join(said)


def test_flags_choose_the_executor_and_dag_delivery(deploy_env):
    args = cli.build_parser().parse_args(
        ["deploy", "--executor", "AwsEcsExecutor", "--dag-delivery", "s3-bundle"]
    )
    flags = {k: v for k, v in vars(args).items() if isinstance(v, str)}
    found = inputs.collect(flags, deploy_env)
    assert (found.executor, found.dag_delivery) == ("AwsEcsExecutor", "s3-bundle")


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("DEPLOY_EXECUTOR", "CeleryExecutor", "LocalExecutor, AwsEcsExecutor"),
        ("DEPLOY_DAG_DELIVERY", "git", "image, s3-bundle, git-bundle"),
    ],
)
def test_a_value_the_template_does_not_allow_is_refused(deploy_env, variable, value, allowed):
    with pytest.raises(inputs.InputError, match=f"{variable}: '{value}' .* one of {allowed}"):
        inputs.collect({}, {**deploy_env, variable: value})


def test_environment_variables_reach_the_stack_and_a_redeploy_keeps_them(
    aws, stand_in_templates, deploy_env
):
    deploy(aws, deploy_env)
    first = stack_parameters(aws, "airflow-airflow")
    assert (first["Executor"], first["DagDelivery"]) == ("LocalExecutor", "image")

    deploy(aws, deploy_env, DEPLOY_EXECUTOR="AwsEcsExecutor", DEPLOY_DAG_DELIVERY="s3-bundle")
    chosen = stack_parameters(aws, "airflow-airflow")
    assert (chosen["Executor"], chosen["DagDelivery"]) == ("AwsEcsExecutor", "s3-bundle")

    said = deploy(aws, deploy_env)  # not given again: kept, like the certificate
    kept = stack_parameters(aws, "airflow-airflow")
    assert (kept["Executor"], kept["DagDelivery"]) == ("AwsEcsExecutor", "s3-bundle")
    assert "Executor: kept from the previous deploy" in said


def bundle_in_bucket(aws):
    listed = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="dags/").get("Contents", [])
    return {
        item["Key"]: aws.s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for item in listed
    }


def test_s3_bundle_uploads_the_dag_folder_before_the_components_start(
    aws, stand_in_templates, deploy_env
):
    seen_by_migration = []

    def migrate(*_):  # runs before the services are set to 1 task
        seen_by_migration.append(bundle_in_bucket(aws))

    deploy(aws, deploy_env, migrate, DEPLOY_DAG_DELIVERY="s3-bundle")

    repo = build_context.REPO
    expected = {
        f"dags/{name.removeprefix('airflow/dags/')}": (repo / name).read_bytes()
        for name in build_context.context_files(repo)
        if name.startswith("airflow/dags/")
    }
    assert {"dags/snowflake_raw.py", "dags/config/sources.yml"} <= set(expected)
    # the dbt project and its manifest are the image's (/opt/airflow/dbt), not the bundle's
    assert "dags/config/analytics.yml" in expected
    assert not any(key.startswith("dags/dbt/") for key in expected)
    assert seen_by_migration == [expected]
    assert stack_parameters(aws, "airflow-airflow")["DagDelivery"] == "s3-bundle"

    versions = {key: aws.s3.head_object(Bucket=BUCKET, Key=key)["ETag"] for key in expected}
    said = deploy(aws, deploy_env, DEPLOY_DAG_DELIVERY="s3-bundle")
    assert f"s3://{BUCKET}/dags/: 0 uploaded, 0 deleted, {len(expected)} unchanged" in said
    assert {key: aws.s3.head_object(Bucket=BUCKET, Key=key)["ETag"] for key in expected} == versions


def test_image_delivery_uploads_nothing(aws, stand_in_templates, deploy_env):
    deploy(aws, deploy_env)
    assert bundle_in_bucket(aws) == {}


def test_sync_uploads_only_what_changed_and_deletes_what_is_gone(aws, tmp_path):
    import subprocess

    aws.s3.create_bucket(Bucket="stage")
    dags = tmp_path / "airflow" / "dags"
    (dags / "sql").mkdir(parents=True)
    (dags / "a.py").write_text("a = 1\n")
    (dags / "sql" / "t.sql").write_text("select 1\n")
    (tmp_path / ".dockerignore").write_text("*\n!airflow/dags/\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)  # files untracked: they count
    quiet = lambda _: None  # noqa: E731

    first = dag_bundle.sync(aws.s3, "stage", "dags/", tmp_path, quiet)
    assert first["uploaded"] == ["dags/a.py", "dags/sql/t.sql"]

    (dags / "a.py").write_text("a = 2\n")
    (dags / "sql" / "t.sql").unlink()
    second = dag_bundle.sync(aws.s3, "stage", "dags/", tmp_path, quiet)
    assert (second["uploaded"], second["deleted"]) == (["dags/a.py"], ["dags/sql/t.sql"])
    body = aws.s3.get_object(Bucket="stage", Key="dags/a.py")["Body"].read()
    assert body == b"a = 2\n"

    third = dag_bundle.sync(aws.s3, "stage", "dags/", tmp_path, quiet)
    assert third == {"uploaded": [], "deleted": [], "unchanged": ["dags/a.py"]}
