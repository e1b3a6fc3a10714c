"""Trigger snowflake_raw and follow it, then the Asset-triggered snowflake_analytics run."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from local.airflow_api import AirflowAPI

RAW, ANALYTICS = "snowflake_raw", "snowflake_analytics"
FINISHED = {"success", "failed"}


@dataclass
class RunOutcome:
    dag_id: str
    run_id: str
    state: str
    seconds: float
    tasks: dict[str, str]

    @property
    def failed_tasks(self) -> list[str]:
        return sorted(t for t, s in self.tasks.items() if s in ("failed", "upstream_failed"))


def follow(api: AirflowAPI, dag_id: str, run_id: str, timeout: float, echo=print) -> RunOutcome:
    """Poll a run until it finishes, printing a line whenever the set of running tasks changes."""
    start = time.monotonic()
    last = None
    while True:
        run = api.dag_run(dag_id, run_id)
        tasks = {t["task_id"]: t["state"] or "none" for t in api.task_instances(dag_id, run_id)}
        done = sum(1 for s in tasks.values() if s in ("success", "failed", "skipped"))
        running = sorted(t for t, s in tasks.items() if s in ("running", "queued", "scheduled"))
        line = f"  {dag_id}: {done}/{len(tasks)} tasks done; running: {', '.join(running) or '-'}"
        if line != last:
            echo(f"{line}  [{time.monotonic() - start:5.1f} s]")
            last = line
        if run["state"] in FINISHED:
            return RunOutcome(dag_id, run_id, run["state"], time.monotonic() - start, tasks)
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f} s")
        time.sleep(1)


def trigger_raw(api: AirflowAPI, note: str | None = None) -> str:
    return api.trigger(RAW, note=note)["dag_run_id"]


def wait_for_analytics_after(
    api: AirflowAPI, raw_run: dict, timeout: float, echo=print
) -> RunOutcome:
    """Find the analytics run that the raw run's Asset events queued, then follow it."""
    raw_started = _parse(raw_run["start_date"])
    start = time.monotonic()
    echo("  waiting for snowflake_analytics (scheduled on the raw tables' Assets)")
    while time.monotonic() - start < timeout:
        for run in api.dag_runs(ANALYTICS, limit=5):
            if run["run_type"] == "asset_triggered" and _parse(run["run_after"]) >= raw_started:
                return follow(api, ANALYTICS, run["dag_run_id"], timeout, echo)
        time.sleep(1)
    raise TimeoutError(f"no {ANALYTICS} run started within {timeout:.0f} s of the raw run")


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def run_pipeline(api: AirflowAPI, timeout: float = 900, echo=print) -> list[RunOutcome]:
    run_id = trigger_raw(api, note="make run")
    echo(f"  triggered {RAW} ({run_id})")
    raw = follow(api, RAW, run_id, timeout, echo)
    if raw.state != "success":
        return [raw]
    raw_run = api.dag_run(RAW, run_id)
    analytics = wait_for_analytics_after(api, raw_run, timeout, echo)
    return [raw, analytics]
