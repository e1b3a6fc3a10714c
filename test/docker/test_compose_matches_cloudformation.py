"""Local and cloud do not drift: compose runs each component as the ECS task definitions do.

Parses cloudformation/airflow.yml (skipped, with the reason, while that file does not exist).
"""

from __future__ import annotations

import shlex

import pytest

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# compose service -> ECS container name
MIGRATION = ("airflow-init", "db-migrate")


def health_argv(test: list[str]) -> list[str]:
    """A health check as argv, whether written ["CMD", ...] or ["CMD-SHELL", "..."]."""
    kind, *rest = test
    if kind == "CMD-SHELL":
        (command,) = rest
        return shlex.split(command)
    assert kind == "CMD", test
    return rest


def without_load_balancer(command):
    """The command as run without a load balancer (compose's case): the `HasLoadBalancer` branch
    adds `--proxy-headers` for the balancer's X-Forwarded-* headers."""
    if isinstance(command, dict):
        condition, behind, direct = command["Fn::If"]
        assert condition == "HasLoadBalancer"
        assert behind == [*direct, "--proxy-headers"]
        return direct
    return command


@pytest.mark.parametrize("name", COMPONENTS)
def test_each_component_runs_the_same_command(services, cfn_containers, name):
    assert name in cfn_containers, f"no ECS container named {name!r}"
    for container in cfn_containers[name]:
        assert without_load_balancer(container["Command"]) == services[name]["command"]


def test_the_migration_runs_the_same_command(services, cfn_containers):
    """ECS migrates the same way, then creates the FAB auth manager's admin (compose signs in
    with the simple auth manager, local only)."""
    compose_name, ecs_name = MIGRATION
    ((shell, flag, script),) = [c["Command"] for c in cfn_containers[ecs_name]]
    assert (shell, flag) == ("bash", "-c")
    migrate = "airflow " + " ".join(services[compose_name]["command"])
    assert script.startswith(migrate + " && airflow users create ")


@pytest.mark.parametrize("name", COMPONENTS)
def test_each_component_has_the_same_health_check(services, cfn_containers, name):
    local = health_argv(services[name]["healthcheck"]["test"])
    for container in cfn_containers[name]:
        assert health_argv(container["HealthCheck"]["Command"]) == local


def test_every_ecs_container_runs_one_image_with_the_official_entrypoint(services, cfn_containers):
    names = [*COMPONENTS, MIGRATION[1]]
    images = [c["Image"] for name in names for c in cfn_containers[name]]
    assert images and all(image == {"Ref": "ImageUri"} for image in images), images
    assert not [c["Name"] for name in names for c in cfn_containers[name] if "EntryPoint" in c]
    # and locally: one image, built from the Dockerfile's runtime target, entrypoint untouched
    local = [services[name] for name in [*COMPONENTS, MIGRATION[0]]]
    assert {svc["image"] for svc in local} == {"airflow-snowflake-fargate:local"}
    assert not [svc for svc in local if "entrypoint" in svc]


@pytest.mark.parametrize("name", COMPONENTS)
def test_each_component_starts_without_the_entrypoints_database_check(
    services, cfn_containers, name
):
    """Both start a component on a database already checked and migrated (compose's
    airflow-init after postgres is healthy, ECS's migration task): no `airflow db check` loop."""
    assert services[name]["environment"]["CONNECTION_CHECK_MAX_COUNT"] == "0"
    for container in cfn_containers[name]:
        environment = container["Environment"]  # entries under Fn::If have no Name here
        variables = {item["Name"]: item["Value"] for item in environment if "Name" in item}
        assert variables["CONNECTION_CHECK_MAX_COUNT"] == "0"
