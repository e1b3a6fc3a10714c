"""docker/healthcheck.py: the health check of the image, compose and the ECS task definitions.

The api-server check runs against a real HTTP server answering as /api/v2/monitor/health does;
the job checks run against the real metadata database in the container tier and the rehearsal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docker" / "healthcheck.py"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
CHECK = ["CMD", "/usr/local/bin/airflow-healthcheck"]


def run(*argv: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *argv],
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def health_api(monkeypatch):
    """A server on a free loopback port answering GET /api/v2/monitor/health with `answer`, and
    GET /execution/health as Airflow's execution API does while `answer["execution"]` is true."""
    answer: dict = {"execution": True}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            if self.path == "/api/v2/monitor/health":
                code, body = 200, answer
            elif self.path == "/execution/health" and answer["execution"]:
                code, body = 200, {"status": "healthy"}
            else:
                code, body = 404, {"detail": "Not Found"}
            self.send_response(code)
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield answer, f"http://127.0.0.1:{server.server_port}/api/v2/monitor/health"
    server.shutdown()


def test_api_server_is_healthy_when_the_metadata_database_is(health_api):
    answer, url = health_api
    answer["metadatabase"] = {"status": "healthy"}
    result = run("api-server", AIRFLOW_HEALTHCHECK_API_URL=url)
    assert (result.returncode, result.stdout.strip()) == (
        0,
        "api-server and metadata database healthy",
    )


def test_api_server_answering_200_with_the_database_down_is_unhealthy(health_api):
    answer, url = health_api
    answer["metadatabase"] = {"status": "unhealthy"}
    result = run("api-server", AIRFLOW_HEALTHCHECK_API_URL=url)
    assert result.returncode == 1
    assert "metadata database unhealthy" in result.stdout


def test_api_server_whose_execution_api_does_not_answer_is_unhealthy(health_api):
    answer, url = health_api
    answer["metadatabase"] = {"status": "healthy"}
    answer["execution"] = False
    result = run("api-server", AIRFLOW_HEALTHCHECK_API_URL=url)
    assert result.returncode == 1
    assert "404" in result.stdout + result.stderr


def test_a_job_check_without_a_database_names_what_is_missing():
    result = run("scheduler")
    assert result.returncode == 1
    assert result.stdout.strip() == (
        "unhealthy: scheduler: no PostgreSQL metadata database configured"
    )


def test_a_one_shot_command_has_no_check():
    result = run("db-migrate")
    assert (result.returncode, result.stdout.strip()) == (0, "no health check for db-migrate")


@pytest.mark.parametrize("component", COMPONENTS)
def test_compose_runs_the_script_for_its_component(services, component):
    assert services[component]["healthcheck"]["test"] == [*CHECK, component]


def test_the_script_is_executable():
    assert os.access(SCRIPT, os.X_OK)
