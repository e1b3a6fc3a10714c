"""docker-compose-local.yml, parsed: Airflow 3's compose pattern with this project's components."""

from __future__ import annotations

import re

import pytest

# The Airflow components, named as the ECS containers are, and the one-shot migration.
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
INIT = "airflow-init"
EMULATOR_SERVICES = (
    "s3",
    "snowflake",
    "land-samples",
    "snowflake-setup",
    "pipeline-trigger",
)

RUNTIME_IMAGE = "airflow-snowflake-fargate:local"
DEV_IMAGE = "airflow-snowflake-fargate:dev"
# The official base unless AIRFLOW_BASE_IMAGE names a stand-in (the container tier's).
BASE_ARG = {"AIRFLOW_BASE_IMAGE": "${AIRFLOW_BASE_IMAGE:-apache/airflow:3.3.2-python3.12}"}
# Settings every component of one deployment must share (FINDINGS: Airflow 3.3.2).
SHARED_SECRETS = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
)
REQUIRED_FROM_ENV = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):\?[^}]+\}$")


def airflow_services(services: dict) -> dict[str, dict]:
    """Every service that runs the project's Airflow image (components, init, trigger)."""
    return {name: svc for name, svc in services.items() if svc.get("image") == RUNTIME_IMAGE}


def test_airflow_services_are_the_components_the_init_and_the_trigger(services):
    assert set(airflow_services(services)) == {*COMPONENTS, INIT, "pipeline-trigger"}


@pytest.mark.parametrize("name", [*COMPONENTS, "pipeline-trigger"])
def test_every_airflow_service_waits_for_the_init_to_complete(services, name):
    assert services[name]["depends_on"][INIT] == {"condition": "service_completed_successfully"}


def test_the_init_migrates_the_database_once_postgres_is_healthy(services):
    init = services[INIT]
    assert init["command"] == ["db", "migrate"]
    assert init["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        # REQUESTS_CA_BUNDLE may name fakesnow's CA (test_every_ca_trusting_service_waits_...)
        "snowflake": {"condition": "service_healthy", "required": False},
    }
    assert init["restart"] == "no"
    assert "healthcheck" not in init


def test_postgres_has_a_health_check(services):
    test = services["postgres"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "pg_isready"]


@pytest.mark.parametrize("key", [*SHARED_SECRETS, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
def test_all_airflow_services_share_one_value_of_each_secret(services, key):
    values = {name: svc["environment"][key] for name, svc in airflow_services(services).items()}
    assert len(set(values.values())) == 1, values


@pytest.mark.parametrize("key", SHARED_SECRETS)
def test_secrets_come_from_env_and_are_required(services, key):
    value = services["scheduler"]["environment"][key]
    match = REQUIRED_FROM_ENV.match(value)
    assert match, f"{key} must be ${{{key}:?...}} (from .env), not {value!r}"
    assert match["name"] == key


def test_the_database_password_comes_from_env_for_both_postgres_and_airflow(services):
    conn = services["scheduler"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert REQUIRED_FROM_ENV.match(password)["name"] == "POSTGRES_PASSWORD"
    assert conn == f"postgresql+psycopg2://airflow:{password}@postgres:5432/airflow"


def test_tasks_reach_the_execution_api_on_the_api_server(services):
    env = services["scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-server:8080/execution/"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_the_ca_bundle_is_never_empty(services):
    # botocore reads an empty REQUESTS_CA_BUNDLE as verify=False: the default must be a file.
    for name, svc in airflow_services(services).items():
        value = svc["environment"]["REQUESTS_CA_BUNDLE"]
        assert value == "${TLS_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}", name


def long_running(services: dict) -> dict[str, dict]:
    return {name: svc for name, svc in services.items() if svc.get("restart") != "no"}


def test_long_running_services_are_the_components_the_database_and_the_emulators(services):
    assert set(long_running(services)) == {*COMPONENTS, "postgres", "s3", "snowflake"}


@pytest.mark.parametrize(
    "name", [*COMPONENTS, "postgres", "s3", "snowflake"], ids=lambda name: name
)
def test_every_long_running_service_has_a_health_check(services, name):
    check = services[name]["healthcheck"]
    assert check.get("disable") is not True
    assert check["test"][0] == "CMD" and len(check["test"]) > 1
    assert check["retries"] >= 3


def published_ports(services: dict) -> dict[str, list]:
    return {name: svc["ports"] for name, svc in services.items() if svc.get("ports")}


def test_only_8080_is_published_and_only_on_loopback(services):
    assert published_ports(services) == {"api-server": ["127.0.0.1:8080:8080"]}
    for svc in services.values():
        assert "expose" not in svc and svc.get("network_mode") != "host"


def test_emulator_services_exist_only_in_the_emulators_profile(services):
    profiled = {name for name, svc in services.items() if "profiles" in svc}
    assert profiled == set(EMULATOR_SERVICES)
    assert all(services[name]["profiles"] == ["emulators"] for name in EMULATOR_SERVICES)


def test_emulators_run_the_projects_local_launchers(services):
    assert services["s3"]["command"] == [
        "python", "-m", "local", "serve-s3", "--host", "0.0.0.0", "--port", "5000",
    ]  # fmt: skip
    assert services["snowflake"]["command"] == [
        "python", "-m", "local", "serve-snowflake", "--host", "0.0.0.0", "--port", "8443",
        "--s3-endpoint", "http://s3:5000",
    ]  # fmt: skip
    assert services["land-samples"]["command"] == [
        "python", "-m", "local", "land-samples", "--s3-endpoint", "http://s3:5000",
    ]  # fmt: skip
    assert services["snowflake-setup"]["command"] == ["python", "-m", "local", "snowflake-setup"]
    for name in ("s3", "snowflake", "land-samples", "snowflake-setup"):
        assert services[name]["image"] == DEV_IMAGE
        assert services[name]["build"] == {"context": ".", "target": "dev", "args": BASE_ARG}


TLS_VOLUME = "local-tls:/opt/airflow/.local/tls"


def test_fakesnow_shares_its_ca_with_every_snowflake_client(services):
    # the snowflake service alone writes the CA and certificate (its launcher issues them)
    writers = [name for name, svc in services.items() if TLS_VOLUME in svc.get("volumes", [])]
    assert writers == ["snowflake"]
    for name in [*COMPONENTS, INIT, "pipeline-trigger", "snowflake-setup"]:
        assert f"{TLS_VOLUME}:ro" in services[name]["volumes"], name


def test_the_volume_is_where_the_launcher_writes_in_the_image(services, stages):
    # local/settings.py: <state>/tls, state = $LOCAL_STACK_DIR or <repo>/.local, and the dev
    # stage copies local/ to /opt/airflow/local/ (repo /opt/airflow)
    assert "local/ /opt/airflow/local/" in stages["dev"].args("COPY")
    assert "LOCAL_STACK_DIR" not in services["snowflake"]["environment"]
    assert TLS_VOLUME.split(":", 1)[1] == "/opt/airflow/.local/tls"


def ca_trusting(services: dict) -> dict[str, dict]:
    """Services that read the shared CA (REQUESTS_CA_BUNDLE may point into the volume)."""
    return {
        name: svc for name, svc in services.items() if f"{TLS_VOLUME}:ro" in svc.get("volumes", [])
    }


def test_every_ca_trusting_service_waits_for_snowflake_to_be_healthy(services):
    # the CA file exists only once the snowflake service has started; its health check passes
    # only after a verified handshake (test_emulator_certificate.py)
    trusting = ca_trusting(services)
    assert set(trusting) == {*COMPONENTS, INIT, "pipeline-trigger", "snowflake-setup"}
    for name, svc in trusting.items():
        spec = svc["depends_on"]["snowflake"]
        assert spec["condition"] == "service_healthy", name
        # outside the profile the service does not exist: a service that runs without the
        # profile must not require it
        if "profiles" not in svc:
            assert spec["required"] is False, name


def test_the_snowflake_health_check_verifies_the_certificate_for_the_service_name(services):
    assert services["snowflake"]["healthcheck"]["test"] == [
        "CMD", "python", "-m", "local", "ready", "8443",
        "--tls-ca", "/opt/airflow/.local/tls/ca.pem", "--tls-name", "snowflake",
    ]  # fmt: skip
    assert "8443" in services["snowflake"]["command"]


def test_components_wait_for_emulator_setup_only_when_the_profile_is_on(services):
    for dependency in ("snowflake-setup", "land-samples"):
        assert services["scheduler"]["depends_on"][dependency] == {
            "condition": "service_completed_successfully",
            "required": False,
        }
    # a component that requires a profiled service would fail without the profile
    for name in (*COMPONENTS, INIT, "postgres"):
        for dependency, spec in services[name].get("depends_on", {}).items():
            if dependency in EMULATOR_SERVICES:
                assert spec.get("required") is False, (name, dependency)


def test_airflow_services_build_the_runtime_target(services):
    for name, svc in airflow_services(services).items():
        assert svc["build"] == {
            "context": ".",
            "target": "runtime",
            "args": BASE_ARG,
        }, name


def test_build_targets_exist_in_the_dockerfile(services, stages):
    targets = {svc["build"]["target"] for svc in services.values() if "build" in svc}
    assert targets == {"runtime", "dev"}
    assert targets <= set(stages)


def test_account_setup_gets_the_variables_of_the_sql_files(services):
    env = services["snowflake-setup"]["environment"]
    assert env["SNOWFLAKE_STAGE_URL"] == "${SNOWFLAKE_STAGE_URL:-}"
    assert env["SNOWFLAKE_STORAGE_ROLE_ARN"] == "${SNOWFLAKE_STORAGE_ROLE_ARN:-}"
    assert (
        env["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"]
        == (services["scheduler"]["environment"]["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"])
    )


def test_the_raw_dag_is_triggered_by_id(services):
    script = services["pipeline-trigger"]["command"][-1]
    assert "airflow dags trigger snowflake_raw" in script
