"""docker-compose-git.yml, parsed: DAGs from the stand-in git host, read with a token only where
DAG code is read, as the ECS task definitions do (cloudformation/airflow.yml)."""

from __future__ import annotations

import json
import shlex
from urllib.parse import urlsplit

import pytest
import yaml

from deploy.dag_delivery import CONFIG_ENV, GIT_CONN_ID, GitSource, bundle_config_json
from local import git_server
from test.docker.conftest import REPO, with_defaults
from test.docker.test_compose import COMPONENTS, INIT, airflow_services

GIT_FILE = REPO / "docker-compose-git.yml"
CONNECTION_ENV = f"AIRFLOW_CONN_{GIT_CONN_ID.upper()}"
# Where the dev image's launcher keeps its state (local/settings.py), in the container.
STATE = "/opt/airflow/.local"


@pytest.fixture(scope="module")
def git_services() -> dict[str, dict]:
    return yaml.safe_load(with_defaults(GIT_FILE.read_text()))["services"]


@pytest.fixture(scope="module")
def bundle(git_services) -> dict:
    (only,) = json.loads(git_services["dag-processor"]["environment"][CONFIG_ENV])
    return only


def test_the_bundle_is_what_the_renderer_gives_for_the_git_server(bundle, git_services):
    kwargs = bundle["kwargs"]
    source = GitSource(
        repo_url=kwargs["repo_url"],
        tracking_ref="main",
        refresh_interval=10,
        git_conn_id=GIT_CONN_ID,
    )
    assert [bundle] == json.loads(bundle_config_json("git-bundle", git=source))
    url = urlsplit(kwargs["repo_url"])
    command = git_services["git-server"]["command"]
    assert url.scheme == "https" and url.path == f"/{git_server.REPOSITORY}"
    assert url.hostname == "git-server" == command[command.index("--tls-name") + 1]
    assert str(url.port) == command[command.index("--port") + 1]


def test_every_airflow_service_reads_the_same_bundle(git_services, services):
    for name in airflow_services(services):
        assert name in git_services, name
        value = git_services[name]["environment"][CONFIG_ENV]
        assert value == git_services["dag-processor"]["environment"][CONFIG_ENV], name
    assert set(airflow_services(services)) == {*COMPONENTS, INIT, "pipeline-trigger"}


def test_only_the_dag_processor_and_the_scheduler_get_the_token(git_services):
    with_token = {n for n, s in git_services.items() if CONNECTION_ENV in s.get("environment", {})}
    assert with_token == {"dag-processor", "scheduler"}
    for name in with_token:
        environment = git_services[name]["environment"]
        connection = environment[CONNECTION_ENV]
        assert "${GIT_SERVER_TOKEN:?" in connection
        assert environment["GIT_SSL_CAINFO"] == f"{STATE}/tls/git/ca.pem"
        assert git_services[name]["depends_on"]["git-server"]["condition"] == "service_healthy"
    server = git_services["git-server"]
    assert server["environment"][git_server.TOKEN_ENV].startswith("${GIT_SERVER_TOKEN:?")


def test_the_git_server_is_on_the_compose_network_only(git_services):
    server = git_services["git-server"]
    assert "ports" not in server
    assert server["image"] == "airflow-snowflake-fargate:dev"
    assert server["build"]["target"] == "dev"


def test_its_certificate_is_where_clients_look_and_its_health_check_verifies_it(git_services):
    server = git_services["git-server"]
    mounts = dict(volume.split(":", 1) for volume in server["volumes"])
    assert mounts["local-tls"] == f"{STATE}/tls"  # the launcher writes its CA under tls/git/
    assert mounts["git-repositories"] == f"{STATE}/git-server"
    assert server["healthcheck"]["test"] == [
        "CMD", "python", "-m", "local", "ready", "8443",
        "--tls-ca", f"{STATE}/tls/git/ca.pem", "--tls-name", "git-server",
    ]  # fmt: skip
    assert "8443" in server["command"]


def test_the_repository_is_seeded_with_the_images_dag_folder(git_services, stages):
    command = git_services["git-server"]["command"]
    assert command[:4] == ["python", "-m", "local", "serve-git"]
    seed = command[command.index("--seed") + 1]
    copies = stages["app"].args("COPY")
    assert any(shlex.split(args)[-1].rstrip("/") == seed for args in copies), copies


def test_the_dev_image_creates_each_volumes_mount_point_as_airflow(git_services, stages):
    # a named volume takes the ownership of the directory it is mounted on: one the image lacks
    # is created as root, and the git server (uid 50000) could not write its repository there
    created = " ".join(args for args in stages["dev"].args("RUN") if "mkdir" in args).split()
    for volume in git_services["git-server"]["volumes"]:
        assert volume.split(":")[1] in created, volume
