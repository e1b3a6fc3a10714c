"""`make deploy` / `make destroy` against a real moto server: SSM, Secrets Manager, ECR, S3, CFN.

moto 5.2.5 leaves a stack's outputs empty after a change set (real CloudFormation fills them), so
the outputs the CLI reads are proven separately on a stack moto creates directly.
"""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from deploy import airflow_secrets, image, inputs, orchestrate, templates
from deploy.cli import main


@pytest.fixture
def migrations():
    calls = []

    def record(deploy_inputs, clients, network, airflow, say):
        calls.append(deploy_inputs.environment_name)

    record.calls = calls
    return record


def stack_parameters(aws, name):
    (stack,) = aws.cloudformation.describe_stacks(StackName=name)["Stacks"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def run_deploy(aws, deploy_env, migrations, **env):
    collected = inputs.collect({"profile": "prod"}, {**deploy_env, **env})
    said = []
    result = orchestrate.deploy(
        collected, aws, say=said.append, docker=False, migrate=migrations, poll=0.05
    )
    return result, "\n".join(said)


def test_first_deploy_creates_secrets_connection_and_stacks(
    aws, stand_in_templates, deploy_env, migrations, private_key_file
):
    result, said = run_deploy(aws, deploy_env, migrations)

    values = json.loads(
        aws.secretsmanager.get_secret_value(SecretId="airflow/airflow/core")["SecretString"]
    )
    assert len(base64.urlsafe_b64decode(values["fernet_key"])) == 32
    assert len(values["jwt_secret"].encode()) >= 64
    assert len(values["api_secret_key"]) >= 32

    parameter = aws.ssm.get_parameter(
        Name="/airflow/connections/snowflake_default", WithDecryption=True
    )
    assert parameter["Parameter"]["Type"] == "SecureString"
    connection = json.loads(parameter["Parameter"]["Value"])
    assert connection["conn_type"] == "snowflake" and connection["login"] == "AIRFLOW_LOADER"
    assert connection["extra"]["private_key_content"] == private_key_file.read_text()
    assert "password" not in connection  # key-pair authentication, unencrypted test key

    storage = stack_parameters(aws, "airflow-storage")
    assert storage["SnowflakeExternalId"] == "pending-snowflake-integration"
    airflow = stack_parameters(aws, "airflow-airflow")
    assert airflow["AllowedCidr"] == "203.0.113.7/32"
    assert airflow["ServiceDesiredCount"] == "1"
    assert airflow["Layout"] == "split" and airflow["TaskPlacement"] == "private"
    secret_arn = aws.secretsmanager.describe_secret(SecretId="airflow/airflow/core")["ARN"]
    assert airflow["AirflowCoreSecretArn"] == secret_arn

    assert migrations.calls == ["airflow"]
    assert result["migrated"] is True
    assert "Airflow UI:" in said
    assert airflow["AllowPlainHttp"] == "true"  # the opt-out given, passed on
    # nothing secret is ever printed
    for secret in (*values.values(), private_key_file.read_text().splitlines()[1]):
        assert secret not in said


def test_the_storage_stack_creates_the_event_queue_and_its_dead_letter_queue(
    aws, stand_in_templates, deploy_env, migrations
):
    """storage.yml as is, on moto's CloudFormation. moto ignores a bucket's
    NotificationConfiguration and has no AWS::SQS::QueuePolicy: test_events.py checks those, and
    test_redeploy_after_destroy.py the events of an adopted bucket, which make deploy sets."""
    run_deploy(aws, deploy_env, migrations)
    attributes = {}
    for name in ("airflow-stage-events", "airflow-stage-events-dlq"):
        url = aws.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes[name] = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
            "Attributes"
        ]
    queue, dead_letters = attributes.values()
    assert queue["SqsManagedSseEnabled"] == dead_letters["SqsManagedSseEnabled"] == "true"
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead_letters["QueueArn"],
        "maxReceiveCount": 5,
    }
    assert dead_letters["MessageRetentionPeriod"] == str(14 * 24 * 3600)


def test_second_run_with_nothing_changed_changes_nothing(
    aws, stand_in_templates, deploy_env, migrations
):
    run_deploy(aws, deploy_env, migrations)
    before = aws.secretsmanager.get_secret_value(SecretId="airflow/airflow/core")["SecretString"]
    version = aws.ssm.get_parameter(Name=airflow_secrets.SNOWFLAKE_PARAMETER)["Parameter"][
        "Version"
    ]

    result, said = run_deploy(aws, deploy_env, migrations)

    assert result["actions"] == {
        "network": "unchanged",
        "storage": "unchanged",
        "airflow": "unchanged",
    }
    assert result["migrated"] is False and len(migrations.calls) == 1
    assert (
        aws.secretsmanager.get_secret_value(SecretId="airflow/airflow/core")["SecretString"]
        == before
    )
    assert (
        aws.ssm.get_parameter(Name=airflow_secrets.SNOWFLAKE_PARAMETER)["Parameter"]["Version"]
        == version
    )
    assert said.count("no changes") == 3


def test_a_new_image_stops_migrates_and_restarts(aws, stand_in_templates, deploy_env, migrations):
    run_deploy(aws, deploy_env, migrations)
    new_image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow/airflow:def456"
    result, _ = run_deploy(aws, deploy_env, migrations, DEPLOY_IMAGE_URI=new_image)
    assert result["migrated"] is True and len(migrations.calls) == 2
    airflow = stack_parameters(aws, "airflow-airflow")
    assert (airflow["ImageUri"], airflow["ServiceDesiredCount"]) == (new_image, "1")


# What DESC INTEGRATION gives a user for step two (docs/deploy.md).
STEP_TWO = {
    "SNOWFLAKE_IAM_USER_ARN": "arn:aws:iam::999988887777:user/abc0-s-xyz",
    "SNOWFLAKE_EXTERNAL_ID": "AB_SFCRole=1",
}


def test_step_two_passes_the_snowflake_user_to_the_storage_stack(
    aws, stand_in_templates, deploy_env, migrations
):
    run_deploy(aws, deploy_env, migrations)
    run_deploy(aws, deploy_env, migrations, **STEP_TWO)
    storage = stack_parameters(aws, "airflow-storage")
    assert (storage["SnowflakeIamUserArn"], storage["SnowflakeExternalId"]) == (
        "arn:aws:iam::999988887777:user/abc0-s-xyz",
        "AB_SFCRole=1",
    )
    # (moto does not update resources on a change-set update: test_storage.py proves the trust)


def test_refusal_changes_nothing(aws, stand_in_templates, deploy_env, monkeypatch, capsys):
    for key, value in {**deploy_env, "DEPLOY_ALLOWED_CIDR": "0.0.0.0/0"}.items():
        monkeypatch.setenv(key, value)
    endpoint = aws.cloudformation.meta.endpoint_url
    assert main(["deploy", "--endpoint-url", endpoint]) == 2
    assert "refused: environment variable DEPLOY_ALLOWED_CIDR" in capsys.readouterr().err
    assert aws.secretsmanager.list_secrets()["SecretList"] == []
    assert aws.ssm.describe_parameters()["Parameters"] == []
    assert aws.cloudformation.describe_stacks()["Stacks"] == []


def test_prod_without_a_certificate_or_the_opt_out_is_refused_before_any_change(
    aws, stand_in_templates, deploy_env
):
    env = {k: v for k, v in deploy_env.items() if k != "DEPLOY_ALLOW_PLAIN_HTTP"}
    collected = inputs.collect({"profile": "prod"}, env)
    with pytest.raises(inputs.InputError) as refused:
        orchestrate.deploy(collected, aws, say=lambda _: None, docker=False)
    assert "DEPLOY_CERTIFICATE_ARN" in str(refused.value)
    assert "DEPLOY_ALLOW_PLAIN_HTTP=true" in str(refused.value)
    assert aws.secretsmanager.list_secrets()["SecretList"] == []
    assert aws.cloudformation.describe_stacks()["Stacks"] == []
    # a certificate, or the opt-out, or the dev profile (no load balancer) passes the rule
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d"
    template = templates.load("airflow")
    for profile, given in (("prod", certificate), ("dev", "")):
        accepted = inputs.collect({"profile": profile}, {**env, "DEPLOY_CERTIFICATE_ARN": given})
        orchestrate.check_rules(accepted, template, given)


def test_no_docker_and_no_image_is_refused_before_any_change(aws, stand_in_templates, deploy_env):
    env = {k: v for k, v in deploy_env.items() if k != "DEPLOY_IMAGE_URI"}
    collected = inputs.collect({}, env)
    with pytest.raises(inputs.InputError, match="Docker is not available"):
        orchestrate.deploy(collected, aws, say=lambda _: None, docker=False)
    assert aws.secretsmanager.list_secrets()["SecretList"] == []


def test_destroy_protects_the_prod_database_until_asked(
    aws, stand_in_templates, deploy_env, migrations
):
    run_deploy(aws, deploy_env, migrations)
    with pytest.raises(inputs.InputError, match="--delete-database"):
        orchestrate.destroy("airflow", aws, delete_database=False, say=lambda _: None, poll=0.05)
    assert len(aws.cloudformation.describe_stacks()["Stacks"]) == 3

    done = orchestrate.destroy("airflow", aws, delete_database=True, say=lambda _: None, poll=0.05)

    assert done["airflow"] == done["storage"] == done["network"] == "deleted"
    live = [
        s
        for s in aws.cloudformation.describe_stacks()["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert live == []
    assert done["snowflake_connection"] == "deleted"
    with pytest.raises(aws.ssm.exceptions.ParameterNotFound):
        aws.ssm.get_parameter(Name=airflow_secrets.SNOWFLAKE_PARAMETER)
    assert "DeletedDate" in aws.secretsmanager.describe_secret(SecretId="airflow/airflow/core")


def test_image_is_built_and_pushed_once_per_source(aws, monkeypatch):
    repository = aws.ecr.create_repository(repositoryName="airflow/airflow")["repository"]
    monkeypatch.setattr(image, "source_tag", lambda: "0123456789ab")
    commands = []

    def fake_run(argv, **kwargs):
        commands.append(argv[:2])

    uri = image.build_and_push(
        aws.ecr, repository["repositoryUri"], "ARM64", lambda _: None, fake_run
    )
    assert uri == f"{repository['repositoryUri']}:0123456789ab"
    assert commands == [["docker", "build"], ["docker", "login"], ["docker", "push"]]
    # what `docker push` would have done
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "digest": "sha256:" + "0" * 64,
                "size": 1,
                "mediaType": "application/vnd.docker.container.image.v1+json",
            },
            "layers": [],
        }
    )
    aws.ecr.put_image(
        repositoryName="airflow/airflow", imageManifest=manifest, imageTag="0123456789ab"
    )
    commands.clear()
    assert (
        image.build_and_push(
            aws.ecr, repository["repositoryUri"], "ARM64", lambda _: None, fake_run
        )
        == uri
    )
    assert commands == []


def test_outputs_are_read_from_the_stack(aws, stand_in_templates):
    from deploy import stacks, templates

    body = templates.template_path("airflow").read_text()
    parameters = {
        "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow/airflow:abc123",
        "AirflowCoreSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:c-AbCdEf",
        "AllowedCidr": "203.0.113.7/32",
    }
    aws.cloudformation.create_stack(
        StackName="airflow-airflow",
        TemplateBody=body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    found = stacks.outputs(aws.cloudformation, "airflow-airflow")
    assert found["UiUrl"] == "http://airflow-alb.example"
    assert found["MigrationTaskDefinitionArn"].endswith("task-definition/m:1")
    assert stacks.outputs(aws.cloudformation, "airflow-absent") == {}


def test_dev_profile_deploys_without_load_balancer_and_nat(
    aws, stand_in_templates, deploy_env, migrations
):
    collected = inputs.collect({"profile": "dev"}, deploy_env)
    said = []
    orchestrate.deploy(collected, aws, say=said.append, docker=False, migrate=migrations, poll=0.05)
    network = stack_parameters(aws, "airflow-network")
    airflow = stack_parameters(aws, "airflow-airflow")
    assert network["NatGateway"] == "none"
    assert (airflow["UseLoadBalancer"], airflow["TaskPlacement"], airflow["Layout"]) == (
        "disabled",
        "public",
        "combined",
    )
    assert airflow["DbDeletionProtection"] == "false"
    assert airflow["EnableAlarms"] == "false"  # the profile's: a trial environment
    # no task runs on moto: the address falls back to the stack output's explanation
    assert any(line.startswith("  Airflow UI:") for line in said)
    # dev has no deletion protection: destroy needs no extra flag
    done = orchestrate.destroy("airflow", aws, delete_database=False, say=said.append, poll=0.05)
    assert done["airflow"] == "deleted"


def test_destroy_deletes_the_environment_named_by_deploy_environment_name(
    aws, moto_server, stand_in_templates, deploy_env, migrations, monkeypatch
):
    """`make destroy` with DEPLOY_ENVIRONMENT_NAME set deletes that environment, not `airflow`."""
    from deploy import cli

    run_deploy(aws, deploy_env, migrations)
    run_deploy(aws, deploy_env, migrations, DEPLOY_ENVIRONMENT_NAME="staging")
    monkeypatch.setenv("DEPLOY_ENVIRONMENT_NAME", "staging")
    argv = ["destroy", "--yes", "--delete-database", "--endpoint-url", moto_server]
    assert cli.main(argv) == 0
    live = {
        s["StackName"]
        for s in aws.cloudformation.describe_stacks()["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }
    assert live == {"airflow-network", "airflow-storage", "airflow-airflow"}


def test_a_redeploy_without_step_two_values_or_certificate_keeps_them(
    aws, stand_in_templates, deploy_env, migrations
):
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d"
    run_deploy(aws, deploy_env, migrations, **STEP_TWO, DEPLOY_CERTIFICATE_ARN=certificate)
    _, said = run_deploy(aws, deploy_env, migrations)  # none of the three given this time
    storage = stack_parameters(aws, "airflow-storage")
    assert (storage["SnowflakeIamUserArn"], storage["SnowflakeExternalId"]) == (
        "arn:aws:iam::999988887777:user/abc0-s-xyz",
        "AB_SFCRole=1",
    )
    assert stack_parameters(aws, "airflow-airflow")["CertificateArn"] == certificate
    assert "CertificateArn: kept from the previous deploy" in said


def test_a_failed_migration_is_retried_by_the_next_deploy(
    aws, stand_in_templates, deploy_env, migrations
):
    def failing(*args):
        migrations(*args)
        raise RuntimeError("migration task exited 1")

    collected = inputs.collect({"profile": "prod"}, deploy_env)
    with pytest.raises(RuntimeError, match="exited 1"):
        orchestrate.deploy(collected, aws, say=lambda _: None, docker=False, migrate=failing)
    # the image is already on the stack (components stopped), but not recorded as migrated
    assert stack_parameters(aws, "airflow-airflow")["ServiceDesiredCount"] == "0"
    result, _ = run_deploy(aws, deploy_env, migrations)
    assert result["migrated"] is True and len(migrations.calls) == 2
    assert stack_parameters(aws, "airflow-airflow")["ServiceDesiredCount"] == "1"
    result, _ = run_deploy(aws, deploy_env, migrations)
    assert result["migrated"] is False and len(migrations.calls) == 2


def test_destroy_forgets_the_migrated_image_so_a_new_database_is_migrated(
    aws, stand_in_templates, deploy_env, migrations
):
    run_deploy(aws, deploy_env, migrations)
    orchestrate.destroy("airflow", aws, delete_database=True, say=lambda _: None, poll=0.05)
    with pytest.raises(aws.ssm.exceptions.ParameterNotFound):
        aws.ssm.get_parameter(Name=orchestrate.migrated_image_parameter("airflow"))


SLACK_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/slack-AbCdEf"


def test_alert_inputs_reach_the_airflow_stack_and_a_redeploy_keeps_them(
    aws, stand_in_templates, deploy_env, migrations
):
    _, said = run_deploy(
        aws,
        deploy_env,
        migrations,
        DEPLOY_ALERT_EMAIL="ops@example.com",
        DEPLOY_ALERTS_SLACK_SECRET_ARN=SLACK_SECRET,
    )
    airflow = stack_parameters(aws, "airflow-airflow")
    assert (airflow["AlertEmail"], airflow["AlertsSlackSecretArn"]) == (
        "ops@example.com",
        SLACK_SECRET,
    )
    assert airflow["EnableAlarms"] == "true"  # the prod profile's
    # the stand-in stack has no topic: SNS cannot say whether it is confirmed, so the reminder
    assert "click its link" in said and "ops@example.com" in said
    _, said = run_deploy(aws, deploy_env, migrations)  # neither given again
    airflow = stack_parameters(aws, "airflow-airflow")
    assert (airflow["AlertEmail"], airflow["AlertsSlackSecretArn"]) == (
        "ops@example.com",
        SLACK_SECRET,
    )
    assert "AlertEmail: kept from the previous deploy" in said
    run_deploy(aws, deploy_env, migrations, DEPLOY_ENABLE_ALARMS="false")
    assert stack_parameters(aws, "airflow-airflow")["EnableAlarms"] == "false"
    run_deploy(aws, deploy_env, migrations)  # the profile's again when not given
    assert stack_parameters(aws, "airflow-airflow")["EnableAlarms"] == "true"


def test_the_alert_subscription_state_is_read_from_sns(aws):
    topic = aws.sns.create_topic(Name="airflow-pipeline-alerts")["TopicArn"]
    assert orchestrate._alert_subscription(aws, topic, "ops@example.com") is None
    aws.sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    # moto confirms at once; SNS answers PendingConfirmation until the link is clicked
    assert orchestrate._alert_subscription(aws, topic, "ops@example.com") == "confirmed"
    assert orchestrate._alert_subscription(aws, "placeholder-AlertTopicArn", "ops@x.io") is None

    class Pending:
        exceptions = aws.sns.exceptions

        def get_paginator(self, name):
            pages = [
                {
                    "Subscriptions": [
                        {
                            "Protocol": "email",
                            "Endpoint": "ops@example.com",
                            "SubscriptionArn": "PendingConfirmation",
                        }
                    ]
                }
            ]
            return type("Paginator", (), {"paginate": lambda self, **kwargs: pages})()

    pending = dataclasses.replace(aws, sns=Pending())
    assert orchestrate._alert_subscription(pending, topic, "ops@example.com") == "pending"
