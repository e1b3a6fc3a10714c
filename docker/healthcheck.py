#!/usr/bin/env python
"""Health of the Airflow component this container runs, cheap enough for 0.25 vCPU.

`airflow jobs check` imports Airflow and costs ~8-10 CPU-seconds per call: at 0.25 vCPU it
outran its timeout. This asks the same questions with the standard library and psycopg2
(~0.1 CPU-second):
- api-server: /api/v2/monitor/health answers and says the metadata database is healthy (the
  endpoint itself answers 200 with the database down);
- scheduler, dag-processor, triggerer: this host's job of that type is running in the metadata
  database with a recent heartbeat, as `airflow jobs check --local` checks.
The component is the first argument, else AIRFLOW_COMPONENT, else the first component name in
the command of PID 1 (the official entrypoint). Anything else (db migrate) reports healthy.
Used by the ECS task definitions, docker-compose-local.yml and the image's HEALTHCHECK.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess  # noqa: S404 - runs the deployment's own *_CMD, as Airflow does
import sys
import urllib.request

COMPONENTS = {
    "scheduler": "SchedulerJob",
    "dag-processor": "DagProcessorJob",
    "triggerer": "TriggererJob",
}
API = os.environ.get("AIRFLOW_HEALTHCHECK_API_URL", "http://localhost:8080/api/v2/monitor/health")
# The execution API (what task workers call) builds its versioned routes at its first request:
# about 5 CPU-seconds in which the api-server answers nothing. Asked here, that happens in the
# start period instead of at a task's first call (under load, an ECS worker's calls timed out
# and its task failed).
EXECUTION_API = API.rsplit("/api/v2/", 1)[0] + "/execution/health"
# Seconds without a heartbeat before a job counts as dead: Airflow's scheduler threshold
# ([scheduler] scheduler_health_check_threshold, 30 s) for every component, as the others beat
# every 5 s and a loaded 0.25 vCPU task may miss a few.
HEARTBEAT_SECONDS = float(os.environ.get("AIRFLOW_HEALTHCHECK_HEARTBEAT_SECONDS", "30"))


def component(argv: list[str]) -> str:
    if len(argv) > 1:
        return argv[1]
    if os.environ.get("AIRFLOW_COMPONENT"):
        return os.environ["AIRFLOW_COMPONENT"]
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            words = handle.read().decode(errors="replace").split("\0")
    except OSError:
        return ""
    return next((w for w in words if w == "api-server" or w in COMPONENTS), "")


def check_api() -> str:
    with urllib.request.urlopen(API, timeout=10) as response:  # noqa: S310 # nosec B310 - fixed URL
        health = json.loads(response.read())
    status = health.get("metadatabase", {}).get("status")
    if status != "healthy":
        raise RuntimeError(f"api-server answers, metadata database {status}")
    with urllib.request.urlopen(EXECUTION_API, timeout=10) as response:  # noqa: S310 # nosec B310 - fixed URL
        if json.loads(response.read()).get("status") != "healthy":
            raise RuntimeError("api-server answers, its execution API does not")
    return "api-server and metadata database healthy"


def database_url() -> str:
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    command = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD", "")
    if not url and command:
        url = subprocess.run(  # noqa: S602 # nosec B602 - the deployment's own command
            command, shell=True, check=True, capture_output=True, text=True
        ).stdout.strip()
    if not url.startswith("postgresql"):
        raise RuntimeError("no PostgreSQL metadata database configured")
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if "+" in scheme else url


def check_job(job_type: str) -> str:
    url = database_url()
    import psycopg2

    with psycopg2.connect(url, connect_timeout=10) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT EXTRACT(EPOCH FROM (now() - max(latest_heartbeat))) FROM job"
            " WHERE job_type = %s AND state = 'running' AND hostname = %s",
            (job_type, socket.getfqdn()),
        )
        (age,) = cur.fetchone()
    if age is None:
        raise RuntimeError(f"no running {job_type} on {socket.getfqdn()}")
    if age > HEARTBEAT_SECONDS:
        raise RuntimeError(f"{job_type} last heartbeat {age:.0f} s ago")
    return f"{job_type} alive, heartbeat {age:.0f} s ago"


def main(argv: list[str]) -> int:
    name = component(argv)
    try:
        if name == "api-server":
            print(check_api())
        elif name in COMPONENTS:
            print(check_job(COMPONENTS[name]))
        else:
            print(f"no health check for {name or 'this command'}")
    except Exception as error:  # noqa: BLE001 - any failure is "unhealthy", said in one line
        print(f"unhealthy: {name}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
