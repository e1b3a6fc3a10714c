"""Trigger snowflake_raw (or wait for the run that landing events start) and follow it, then the
snowflake_analytics run its Asset events queued (none when the raw run loaded nothing new)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from local.airflow_api import AirflowAPI

RAW, ANALYTICS = "snowflake_raw", "snowflake_analytics"
FINISHED = {"success", "failed"}
# follow() asks for the run's state every second and for its task list (2.5 times the
# api-server's CPU per request, more for large runs) at most this often: progress lines may lag
# by up to this much, the end of a run does not.
TASKS_EVERY_SECONDS = 3.0


@dataclass
class RunOutcome:
    dag_id: str
    run_id: str
    state: str
    seconds: float
    tasks: dict[str, str]
    # the DAG code it ran: the commit, with DAGs from git; None from a folder
    bundle_version: str | None = None

    @property
    def failed_tasks(self) -> list[str]:
        return sorted(t for t, s in self.tasks.items() if s in ("failed", "upstream_failed"))


class DagPaused(RuntimeError):
    """A DAG the run needs is paused (in the UI, or by `airflow dags pause`)."""


def _no_check() -> None:
    pass


def follow(
    api: AirflowAPI,
    dag_id: str,
    run_id: str,
    timeout: float,
    echo=print,
    ensure_running: Callable[[], None] = _no_check,
) -> RunOutcome:
    """Poll a run until it finishes, printing a line whenever the set of running tasks changes.

    `ensure_running` raises when a stack process has died: a run would then wait for ever."""
    start = time.monotonic()
    last = None
    tasks, tasks_read = {}, None
    while True:
        ensure_running()
        try:
            run = api.dag_run(dag_id, run_id)
            now = time.monotonic()
            if (
                run["state"] in FINISHED
                or tasks_read is None
                or now - tasks_read >= TASKS_EVERY_SECONDS
            ):
                instances = api.task_instances(dag_id, run_id)
                tasks = {t["task_id"]: t["state"] or "none" for t in instances}
                tasks_read = now
        except OSError:
            ensure_running()  # names the dead api-server, if that is why
            raise
        done = sum(1 for s in tasks.values() if s in ("success", "failed", "skipped"))
        running = sorted(t for t, s in tasks.items() if s in ("running", "queued", "scheduled"))
        line = f"  {dag_id}: {done}/{len(tasks)} tasks done; running: {', '.join(running) or '-'}"
        if line != last:
            echo(f"{line}  [{time.monotonic() - start:5.1f} s]")
            last = line
        if run["state"] in FINISHED:
            seconds = time.monotonic() - start
            return RunOutcome(
                dag_id, run_id, run["state"], seconds, tasks, run.get("bundle_version")
            )
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f} s")
        time.sleep(1)


def trigger_raw(api: AirflowAPI, note: str | None = None) -> str:
    return api.trigger(RAW, note=note)["dag_run_id"]


def wait_for_analytics_after(
    api: AirflowAPI,
    raw_run: dict,
    timeout: float,
    echo=print,
    ensure_running: Callable[[], None] = _no_check,
) -> RunOutcome:
    """Find the analytics run that the raw run's Asset events queued, then follow it."""
    raw_started = _parse(raw_run["start_date"])
    start = time.monotonic()
    echo("  waiting for snowflake_analytics (scheduled on the raw tables' Assets)")
    while time.monotonic() - start < timeout:
        ensure_running()
        for run in api.dag_runs(ANALYTICS, limit=5):
            if run["run_type"] == "asset_triggered" and _parse(run["run_after"]) >= raw_started:
                return follow(api, ANALYTICS, run["dag_run_id"], timeout, echo, ensure_running)
        time.sleep(1)
    raise TimeoutError(f"no {ANALYTICS} run started within {timeout:.0f} s of the raw run")


def wait_for_event_run(
    api: AirflowAPI, landed_at: datetime, timeout: float, echo=print, known: frozenset = frozenset()
) -> str:
    """The id of the first snowflake_raw run that landing events started after `landed_at`
    (runs in `known` excepted)."""
    start = time.monotonic()
    echo(f"  waiting for the {RAW} run the landing event starts")
    while time.monotonic() - start < timeout:
        for run in api.dag_runs(RAW, limit=10):
            if (
                run["run_type"] == "asset_triggered"
                and run["dag_run_id"] not in known
                and _parse(run["run_after"]) >= landed_at
            ):
                echo(f"  {RAW} started by the landing event ({run['dag_run_id']})")
                return run["dag_run_id"]
        time.sleep(0.5)
    raise TimeoutError(f"no {RAW} run started within {timeout:.0f} s of the file landing")


def watching_events(api: AirflowAPI) -> bool:
    """Whether snowflake_raw, as last parsed, is scheduled on the landing events."""
    dag = api.dag(RAW) or {}
    return "asset" in str(dag.get("timetable_summary")).lower()


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def run_pipeline(
    api: AirflowAPI,
    timeout: float = 900,
    echo=print,
    ensure_running: Callable[[], None] = _no_check,
) -> list[RunOutcome]:
    """The raw run and, if it published new rows, the analytics run it queued."""
    if api.dag(RAW)["is_paused"]:
        # a triggered run of a paused DAG waits, queued, until somebody unpauses it
        raise DagPaused(
            f"{RAW} is paused, so a run of it would wait queued: unpause it (its toggle in the "
            "UI) and run this again"
        )
    run_id = trigger_raw(api, note="make run")
    echo(f"  triggered {RAW} ({run_id})")
    return follow_through(api, run_id, timeout, echo, ensure_running)


def follow_through(
    api: AirflowAPI,
    run_id: str,
    timeout: float = 900,
    echo=print,
    ensure_running: Callable[[], None] = _no_check,
) -> list[RunOutcome]:
    """A raw run to its end and, if it published new rows, the analytics run it queued."""
    raw = follow(api, RAW, run_id, timeout, echo, ensure_running)
    if raw.state != "success":
        return [raw]
    if not api.asset_events_of_run(RAW, run_id):
        echo(f"  no new rows in any raw table: {ANALYTICS} not queued")
        return [raw]
    if api.dag(ANALYTICS)["is_paused"]:
        # Airflow queues no run of a paused DAG for Asset events, nor later on its unpause
        echo(
            f"  {ANALYTICS} is paused: no run queued for the new rows. Unpause it and trigger "
            "it in the UI to build the analytics tables"
        )
        return [raw]
    raw_run = api.dag_run(RAW, run_id)
    return [raw, wait_for_analytics_after(api, raw_run, timeout, echo, ensure_running)]
