"""The ECS executor variant: its worker task, its configuration, its IAM, its remote logging."""

from __future__ import annotations

import pytest

from deploy.templates import containers
from deploy.templates import environment as env

EXECUTOR = "airflow.providers.amazon.aws.executors.ecs.ecs_executor.AwsEcsExecutor"


@pytest.fixture
def ecs(render):
    return render("airflow", "prod", Executor="AwsEcsExecutor")


def test_local_executor_is_the_default_and_has_no_worker(render):
    rendered = render("airflow", "prod")
    assert "WorkerTaskDefinition" not in rendered.resources
    (scheduler,) = containers(rendered)["scheduler"]
    assert env(scheduler)["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert not [v for v in env(scheduler) if v.startswith("AIRFLOW__AWS_ECS_EXECUTOR__")]


def test_every_component_names_the_ecs_executor(ecs):
    for name, found in containers(ecs).items():
        if name == "airflow-worker":
            continue  # runs one task through the execution API; no executor of its own
        for container in found:
            assert env(container)["AIRFLOW__CORE__EXECUTOR"] == {
                "Fn::FindInMap": ["Executors", "AwsEcsExecutor", "Classpath"]
            }, name
    assert ecs.template["Mappings"]["Executors"]["AwsEcsExecutor"]["Classpath"] == EXECUTOR


def test_scheduler_config_points_at_the_worker_task(ecs):
    (scheduler,) = containers(ecs)["scheduler"]
    config = env(scheduler)
    worker = ecs.resources["WorkerTaskDefinition"]["Properties"]
    (worker_container,) = worker["ContainerDefinitions"]
    assert config["AIRFLOW__AWS_ECS_EXECUTOR__TASK_DEFINITION"] == {"Ref": "WorkerTaskDefinition"}
    assert config["AIRFLOW__AWS_ECS_EXECUTOR__CONTAINER_NAME"] == worker_container["Name"]
    assert config["AIRFLOW__AWS_ECS_EXECUTOR__LAUNCH_TYPE"] == "FARGATE"
    assert config["AIRFLOW__AWS_ECS_EXECUTOR__ASSIGN_PUBLIC_IP"] == "False"
    assert config["AIRFLOW__AWS_ECS_EXECUTOR__SECURITY_GROUPS"] == {"Ref": "ServiceSecurityGroup"}
    assert config["AIRFLOW__AWS_ECS_EXECUTOR__SUBNETS"] == {
        "Fn::ImportValue": {"Fn::Sub": "${EnvironmentName}-PrivateSubnetIds"}
    }
    assert config["AIRFLOW__AWS_ECS_EXECUTOR__CLUSTER"] == {
        "Fn::ImportValue": {"Fn::Sub": "${EnvironmentName}-ClusterName"}
    }
    # the worker's family is what the RunTask permission names
    assert worker["Family"] == {"Fn::Sub": "${EnvironmentName}-airflow-worker"}


def test_worker_talks_to_the_execution_api_only(ecs):
    """An Airflow 3 worker needs the execution API, not the metadata database: no database
    credentials, no Fernet key, no JWT signing secret, and no database check at start."""
    worker = ecs.resources["WorkerTaskDefinition"]["Properties"]
    (container,) = worker["ContainerDefinitions"]
    assert "Secrets" not in container
    config = env(container)
    assert config["CONNECTION_CHECK_MAX_COUNT"] == "0"  # the entrypoint would run `db check`
    assert config["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == {
        "Fn::Sub": "http://api-server.${EnvironmentName}.airflow.internal:8080/execution/"
    }
    assert not [v for v in config if v.startswith(("DB_", "AIRFLOW__DATABASE__"))]
    assert "Command" not in container  # the executor sets it for each Airflow task


def test_worker_has_a_role_of_its_own_without_the_schedulers_powers(ecs):
    worker = ecs.resources["WorkerTaskDefinition"]["Properties"]
    assert worker["TaskRoleArn"] == {"Fn::GetAtt": ["WorkerTaskRole", "Arn"]}
    (policy,) = ecs.resources["WorkerTaskRole"]["Properties"]["Policies"]
    actions = set()
    for statement in policy["PolicyDocument"]["Statement"]:
        found = statement["Action"]
        actions |= {found} if isinstance(found, str) else set(found)
    assert not [a for a in actions if a.startswith(("ecs:", "iam:", "secretsmanager:"))]
    assert {"ssm:GetParameter", "logs:PutLogEvents", "logs:DescribeLogGroups"} <= actions


def test_worker_reads_the_s3_dag_bundle_only_with_that_delivery(render):
    def worker_statements(**parameters):
        rendered = render("airflow", "prod", Executor="AwsEcsExecutor", **parameters)
        (policy,) = rendered.resources["WorkerTaskRole"]["Properties"]["Policies"]
        return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}

    assert "DagBundle" not in worker_statements()
    bundle = worker_statements(DagDelivery="s3-bundle")["DagBundle"]
    assert set(bundle["Action"]) == {"s3:GetObject", "s3:ListBucket"}
    assert bundle["Resource"][1]["Fn::Sub"][0] == "${BucketArn}/${DagBundlePrefix}*"


def test_task_role_may_run_watch_and_pass_roles_only_with_the_ecs_executor(render, ecs):
    def statements(rendered):
        (policy,) = rendered.resources["TaskRole"]["Properties"]["Policies"]
        return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}

    found = statements(ecs)
    assert found["EcsExecutorRunsTasks"]["Action"] == ["ecs:RunTask"]
    assert set(found["EcsExecutorWatchesTasks"]["Action"]) == {"ecs:DescribeTasks", "ecs:StopTask"}
    assert found["EcsExecutorPassesRoles"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    # the roles of the worker task definition it starts, not the components' own task role
    role_name = ecs.resources["WorkerTaskRole"]["Properties"]["RoleName"]["Fn::Sub"]
    passed = [str(r) for r in found["EcsExecutorPassesRoles"]["Resource"]]
    assert any(role_name in r for r in passed)
    own = ecs.resources["TaskRole"]["Properties"]["RoleName"]["Fn::Sub"]
    assert not any(own in r for r in passed)
    assert not [
        sid for sid in statements(render("airflow", "prod")) if sid.startswith("EcsExecutor")
    ]


def test_remote_task_logs_go_to_cloudwatch(ecs):
    (worker,) = containers(ecs)["airflow-worker"]
    config = env(worker)
    assert config["AIRFLOW__LOGGING__REMOTE_LOGGING"] == "True"
    assert config["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"]["Fn::Sub"].startswith(
        "cloudwatch://arn:${AWS::Partition}:logs:"
    )
    assert config["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"]["Fn::Sub"].endswith(
        ":log-group:${TaskLogGroup}"
    )


def test_task_role_lets_watchtower_find_the_task_log_group(render):
    """watchtower's handler calls DescribeLogGroups before writing; without it, it falls back to
    CreateLogGroup (not granted: the stack owns the group) and task logging fails everywhere."""
    import inspect

    import watchtower

    source = inspect.getsource(watchtower.CloudWatchLogHandler._ensure_log_group)
    assert 'get_paginator("describe_log_groups")' in source  # what the installed version calls
    for profile in ("prod", "dev"):
        (policy,) = render("airflow", profile).resources["TaskRole"]["Properties"]["Policies"]
        statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"] if "Sid" in s}
        find = statements["RemoteTaskLogsFindGroup"]
        assert find["Effect"] == "Allow" and find["Action"] == "logs:DescribeLogGroups"
        assert find["Resource"]["Fn::Sub"].endswith(":log-group:*")
        actions = [s["Action"] for s in statements.values()]
        granted = {a for a in actions if isinstance(a, str)}
        granted |= {a for group in actions if isinstance(group, list) for a in group}
        assert "logs:CreateLogGroup" not in granted
