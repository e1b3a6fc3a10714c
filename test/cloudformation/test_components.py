"""The four Airflow components and the migration: command, image, health, logs, network, secrets."""

from __future__ import annotations

import pytest

from deploy.templates import containers, secrets
from deploy.templates import environment as env

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
COMMANDS = {
    # prod sits behind the load balancer: X-Forwarded-Proto makes the sign-in cookie Secure
    ("api-server", "prod"): ["api-server", "--port", "8080", "--proxy-headers"],
    ("api-server", "dev"): ["api-server", "--port", "8080"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
}
SHARED_SECRETS = {
    "AIRFLOW__CORE__FERNET_KEY": "fernet_key",
    "AIRFLOW__API_AUTH__JWT_SECRET": "jwt_secret",
    "AIRFLOW__API__SECRET_KEY": "api_secret_key",
}


@pytest.fixture(params=["prod", "dev"])
def profile(request):
    return request.param


@pytest.mark.parametrize("name", COMPONENTS)
def test_command_and_image(render, profile, name):
    (container,) = containers(render("airflow", profile))[name]
    assert container["Command"] == COMMANDS.get((name, profile), COMMANDS.get(name))
    assert (
        container["Image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow/airflow:1a2b3c"
    )
    assert "EntryPoint" not in container  # the official image's entrypoint runs the subcommand


@pytest.mark.parametrize("name", COMPONENTS)
def test_health_check(render, profile, name):
    (container,) = containers(render("airflow", profile))[name]
    # docker/healthcheck.py, not `airflow jobs check` (~8-10 CPU-s, over its timeout at 0.25
    # vCPU): the rehearsal runs it under the task's limits.
    assert container["HealthCheck"]["Command"] == [
        "CMD",
        "/usr/local/bin/airflow-healthcheck",
        name,
    ]


def test_only_the_migration_waits_for_the_database_at_start(render, profile):
    """The official entrypoint runs `airflow db check` until it passes unless
    CONNECTION_CHECK_MAX_COUNT is 0: the migration, which make deploy runs before any component,
    keeps it; each component would pay ~3 CPU-seconds (12 s of 0.25 vCPU) to learn it again."""
    found = containers(render("airflow", profile))
    checks = {name: env(c).get("CONNECTION_CHECK_MAX_COUNT") for name, (c,) in found.items()}
    assert {name: checks[name] for name in COMPONENTS} == dict.fromkeys(COMPONENTS, "0")
    assert checks["db-migrate"] is None


@pytest.mark.parametrize("name", [*COMPONENTS, "db-migrate"])
def test_logs_go_to_the_component_log_group(render, profile, name):
    (container,) = containers(render("airflow", profile))[name]
    log = container["LogConfiguration"]
    assert log["LogDriver"] == "awslogs"
    assert log["Options"]["awslogs-group"] == {"Ref": "ComponentLogGroup"}
    assert log["Options"]["awslogs-stream-prefix"] == name
    group = render("airflow", profile).resources["ComponentLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"prod": "30", "dev": "7"}[profile]


def test_scheduler_gets_time_to_finish(render):
    (scheduler,) = containers(render("airflow", "prod"))["scheduler"]
    assert scheduler["StopTimeout"] == 120  # Fargate's maximum; ECS's default 30 s cuts it off


def test_every_task_definition_is_fargate_awsvpc(render, profile):
    tasks = render("airflow", profile).resources_of_type("AWS::ECS::TaskDefinition")
    assert tasks
    for task in tasks.values():
        props = task["Properties"]
        assert props["RequiresCompatibilities"] == ["FARGATE"]
        assert props["NetworkMode"] == "awsvpc"
        assert props["RuntimePlatform"]["CpuArchitecture"] == "ARM64"


def test_arm64_is_an_option(render):
    tasks = render("airflow", "prod", CpuArchitecture="X86_64").resources_of_type(
        "AWS::ECS::TaskDefinition"
    )
    assert {t["Properties"]["RuntimePlatform"]["CpuArchitecture"] for t in tasks.values()} == {
        "X86_64"
    }


def test_prod_services_run_in_private_subnets_without_public_ip(render):
    services = render("airflow", "prod").resources_of_type("AWS::ECS::Service")
    assert len(services) == 4
    for service in services.values():
        network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"
        imported = network["Subnets"]["Fn::Split"][1]["Fn::ImportValue"]["Fn::Sub"]
        assert imported == "${EnvironmentName}-PrivateSubnetIds"
        assert service["Properties"]["LaunchType"] == "FARGATE"


def test_dev_runs_one_public_task_holding_the_four_components(render):
    rendered = render("airflow", "dev")
    (service,) = rendered.resources_of_type("AWS::ECS::Service").values()
    network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "ENABLED"
    (task,) = [
        t
        for t in rendered.resources_of_type("AWS::ECS::TaskDefinition").values()
        if len(t["Properties"]["ContainerDefinitions"]) > 1
    ]
    assert [c["Name"] for c in task["Properties"]["ContainerDefinitions"]] == list(COMPONENTS)


def test_split_and_combined_containers_are_identical_but_for_the_api_address(render):
    split = containers(render("airflow", "prod"))
    combined = containers(render("airflow", "prod", Layout="combined"))
    for name in COMPONENTS:
        (one,), (other,) = split[name], combined[name]
        assert {k: v for k, v in one.items() if k != "Environment"} == {
            k: v for k, v in other.items() if k != "Environment"
        }
        mine, theirs = env(one), env(other)
        assert mine.pop("AIRFLOW__CORE__EXECUTION_API_SERVER_URL") != theirs.pop(
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"
        )
        assert mine == theirs


def test_execution_api_url(render):
    (scheduler,) = containers(render("airflow", "prod"))["scheduler"]
    url = env(scheduler)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    assert url == {
        "Fn::Sub": "http://api-server.${EnvironmentName}.airflow.internal:8080/execution/"
    }
    (scheduler,) = containers(render("airflow", "dev"))["scheduler"]
    assert env(scheduler)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://localhost:8080/execution/"
    )


def test_service_discovery_name_matches_the_execution_api_url(render):
    rendered = render("airflow", "prod")
    namespace = rendered.resources["ServiceNamespace"]["Properties"]["Name"]
    service = rendered.resources["ApiServerDiscovery"]["Properties"]["Name"]
    assert f"{service}.{namespace['Fn::Sub']}" == "api-server.${EnvironmentName}.airflow.internal"


@pytest.mark.parametrize("name", [*COMPONENTS, "db-migrate"])
def test_shared_secrets_come_from_the_same_secret(render, profile, name):
    (container,) = containers(render("airflow", profile))[name]
    found = secrets(container)
    for variable, key in SHARED_SECRETS.items():
        assert found[variable] == {"Fn::Sub": "${AirflowCoreSecretArn}:" + key + "::"}
    assert found["DB_PASSWORD"] == {"Fn::Sub": "${DatabaseSecret}:password::"}


def test_no_secret_in_environment(render, profile):
    forbidden = ("PASSWORD", "SECRET_KEY", "FERNET_KEY", "JWT_SECRET")
    for name, found in containers(render("airflow", profile)).items():
        for container in found:
            for variable, value in env(container).items():
                assert not any(word in variable for word in forbidden), (name, variable)
                assert variable != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", name
                assert "AKIA" not in str(value) and "BEGIN" not in str(value), (name, variable)


def test_database_url_is_assembled_from_the_managed_secret(render):
    rendered = render("airflow", "prod")
    (scheduler,) = containers(rendered)["scheduler"]
    command = rendered.template["Mappings"]["Database"]["Connection"]["Command"]
    for variable in ("DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT", "DB_NAME"):
        assert f"os.environ['{variable}']" in command
    assert env(scheduler)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"] == {
        "Fn::FindInMap": ["Database", "Connection", "Command"]
    }
    assert {"DB_USER", "DB_PASSWORD"} <= set(secrets(scheduler))
    assert "DB_PASSWORD" not in env(scheduler)


def test_database_url_command_builds_an_encoded_url(render, monkeypatch):
    """Run the mapped command the way Airflow runs *_CMD options (its own run_command), with a
    password full of URL-special characters. The output is used verbatim: Airflow does not strip
    it, so a trailing newline would name the database "airflow\\n"."""
    from airflow.configuration import run_command

    mapped = render("airflow", "prod").template["Mappings"]["Database"]["Connection"]["Command"]
    for key, value in {
        "DB_USER": "airflow",
        "DB_PASSWORD": "p@ss:w/rd#?%",
        "DB_HOST": "db.example.internal",
        "DB_PORT": "5432",
        "DB_NAME": "airflow",
    }.items():
        monkeypatch.setenv(key, value)
    assert run_command(mapped) == (
        "postgresql+psycopg2://airflow:p%40ss%3Aw%2Frd%23%3F%25@db.example.internal:5432/airflow"
    )


def test_secrets_backend_is_ssm_parameter_store(render):
    (scheduler,) = containers(render("airflow", "prod"))["scheduler"]
    variables = env(scheduler)
    assert variables["AIRFLOW__SECRETS__BACKEND"] == (
        "airflow.providers.amazon.aws.secrets.systems_manager.SystemsManagerParameterStoreBackend"
    )
    assert (
        '"connections_prefix": "/airflow/connections"'
        in variables["AIRFLOW__SECRETS__BACKEND_KWARGS"]
    )


def test_components_may_reach_https_and_the_connectors_ocsp_port_only(render):
    """The Snowflake connector checks OCSP over plain HTTP (port 80) by default."""
    import inspect

    from snowflake.connector import ocsp_snowflake

    assert "http://" in inspect.getsource(ocsp_snowflake)  # its responders are plain HTTP
    egress = render("airflow", "prod").resources["ServiceSecurityGroup"]["Properties"][
        "SecurityGroupEgress"
    ]
    assert sorted((r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in egress) == [
        ("tcp", 80, 80),
        ("tcp", 443, 443),
    ]
