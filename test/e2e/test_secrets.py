"""Secrets stay out of logs and output; the local UI listens on 127.0.0.1 only.

The local stack signs in to the emulator with an encrypted key pair and runs with generated
Fernet, JWT and API secrets, so there are real secrets to look for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.settings import REPO

pytestmark = pytest.mark.e2e


def _secrets(settings) -> dict[str, str]:
    shared = json.loads((settings.state_dir / "secrets.json").read_text())
    key_lines = (settings.state_dir / "snowflake_key.p8").read_text().splitlines()
    body = [line for line in key_lines if line and not line.startswith("-----")]
    found = {
        "snowflake key passphrase": (settings.state_dir / "snowflake_key.passphrase").read_text(),
        "fernet key": shared["fernet_key"],
        "jwt secret": shared["jwt_secret"],
        "api secret key": shared["api_secret_key"],
    }
    # Any line of the private key's body: a log with part of the key is a leak too.
    found.update({f"private key line {i + 1}": line for i, line in enumerate(body)})
    assert all(len(value) >= 20 for value in found.values())
    return found


def _logs(settings) -> dict[Path, str]:
    files = [*settings.log_dir.glob("*.log"), *(settings.airflow_home / "logs").rglob("*")]
    return {path: path.read_text(errors="replace") for path in files if path.is_file()}


def test_no_secret_in_make_run_output_task_logs_or_component_logs(stack):
    settings, _ = stack
    # `make run` on the running stack: its whole output is checked too.
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "local", "run"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    output = result.stdout + result.stderr
    # the stack has loaded everything already: a raw run, and no analytics run to queue
    assert "snowflake_raw: " in output and "Timings" in output

    logs = _logs(settings)
    task_logs = [p for p in logs if "dag_id=snowflake_raw" in str(p)]
    assert task_logs and any("Loaded " in logs[p] for p in task_logs)
    assert settings.log_dir / "scheduler.log" in logs
    leaks = [
        (name, where)
        for name, secret in _secrets(settings).items()
        for where, text in [("make run output", output), *((str(p), t) for p, t in logs.items())]
        if secret in text
    ]
    assert leaks == []


def _listening(port: int) -> set[str]:
    """Local addresses listening on `port`, from /proc/net/tcp{,6}."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, _remote, state = line.split()[1:4]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                addresses.add(address)
    return addresses


def test_ui_and_emulators_listen_on_loopback_only(stack):
    settings, _ = stack
    loopback = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
    for port in (settings.api_port, settings.s3_port, settings.snowflake_port):
        listening = _listening(port)
        assert listening and listening <= loopback, (port, listening)
