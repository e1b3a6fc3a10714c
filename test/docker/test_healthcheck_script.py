"""docker/healthcheck.sh (the image's HEALTHCHECK) runs the same checks as compose and ECS."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docker" / "healthcheck.sh"


@pytest.fixture
def fake_bin(tmp_path) -> Path:
    """`airflow` and `curl` stand-ins that print the argv they were called with."""
    for tool in ("airflow", "curl"):
        path = tmp_path / tool
        path.write_text(f'#!/bin/sh\necho {tool} "$@"\n')
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return tmp_path


def run(component: str, fake_bin: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "AIRFLOW_COMPONENT": component}
    env["PATH"] = f"{fake_bin}:{env['PATH']}"
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("component", ["api-server", "scheduler", "dag-processor", "triggerer"])
def test_runs_the_components_compose_health_check(services, fake_bin, component):
    result = run(component, fake_bin)
    assert result.returncode == 0, result.stderr
    expected = services[component]["healthcheck"]["test"][1:]
    argv = result.stdout.split()
    if component == "api-server":  # the script adds --silent --show-error for quieter logs
        argv = [a for a in argv if a not in ("--silent", "--show-error")]
    assert argv == expected


def test_a_one_shot_or_other_command_is_healthy_without_checking(fake_bin):
    result = run("db-migrate", fake_bin)
    assert (result.returncode, result.stdout) == (0, "")


def test_the_script_is_executable():
    assert os.access(SCRIPT, os.X_OK)
