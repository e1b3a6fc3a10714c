"""Orchestration overhead: the pipeline through Airflow against the same SQL run by a plain script.

Both sides run on the same stack, on the same data, alternately (Airflow first in even pairs,
the script first in odd ones), so that machine noise lands on both. Before each side the raw
tables are dropped, so every run loads every file again.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import closing
from datetime import UTC, datetime

from bench import plain_pipeline
from local import pipeline
from local.airflow_api import AirflowAPI
from local.airflow_env import connect_snowflake
from local.settings import Settings

BUILD_TASK = "dbt_producer_watcher"  # Cosmos's one `dbt build` of the project (watcher mode)


def _seconds(start: str | None, end: str | None) -> float | None:
    if not (start and end):
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def analytics_breakdown(api: AirflowAPI, run_id: str) -> dict[str, float]:
    """Where an analytics run's time went: its dbt build task; how long the run went on after the
    build ended (the tasks that follow it catching up); and the per-task overhead, the median
    time in its process of a following task that started after the build ended (its result was
    there at its first look: what is left is the task process itself)."""
    run = api.dag_run(pipeline.ANALYTICS, run_id)
    tasks = {t["task_id"]: t for t in api.task_instances(pipeline.ANALYTICS, run_id)}
    build = tasks[BUILD_TASK]
    after = [
        _seconds(t["start_date"], t["end_date"])
        for task_id, t in tasks.items()
        if task_id != BUILD_TASK and t["start_date"] and t["start_date"] >= build["end_date"]
    ]
    figures = {
        "build": _seconds(build["start_date"], build["end_date"]),
        "tail": _seconds(build["end_date"], run["end_date"]),
        "tasks": float(len(tasks)),
    }
    if after:
        figures["task"] = statistics.median(after)
    return figures


def airflow_seconds(settings: Settings, api: AirflowAPI, breakdowns: list | None = None) -> float:
    """Trigger of snowflake_raw to the end of the snowflake_analytics run it schedules (and, into
    `breakdowns`, where the analytics run's time went)."""
    with closing(connect_snowflake(settings)) as conn:
        plain_pipeline.reset_raw_tables(conn)
    triggered = datetime.now(UTC)
    run_id = pipeline.trigger_raw(api, note="bench")
    raw = pipeline.follow(api, pipeline.RAW, run_id, timeout=1800, echo=lambda _line: None)
    if raw.state != "success":
        raise RuntimeError(f"{pipeline.RAW} {raw.state}: failed tasks {raw.failed_tasks}")
    analytics = pipeline.wait_for_analytics_after(
        api, api.dag_run(pipeline.RAW, run_id), timeout=1800, echo=lambda _line: None
    )
    if analytics.state != "success":
        raise RuntimeError(f"{pipeline.ANALYTICS} failed: {analytics.failed_tasks}")
    # The run's own end stamp, not when our 1 s polling noticed it.
    ended = datetime.fromisoformat(api.dag_run(pipeline.ANALYTICS, analytics.run_id)["end_date"])
    if breakdowns is not None:
        breakdowns.append(analytics_breakdown(api, analytics.run_id))
    return (ended - triggered).total_seconds()


def script_seconds(settings: Settings, run: int) -> float:
    with closing(connect_snowflake(settings)) as conn:
        plain_pipeline.reset_raw_tables(conn)
        started = time.monotonic()
        plain_pipeline.run(conn, run_id=f"bench_plain_{run}", settings=settings)
        return time.monotonic() - started


def measure(
    settings: Settings, api: AirflowAPI, runs: int, label: str, echo=print, after_pair=None
) -> dict:
    """Alternate both sides `runs` times; the ratio is the median of the per-pair ratios."""
    plain_pipeline.prepare(settings)  # the dbt profile once, outside any timing
    airflow, script, breakdowns = [], [], []
    for run in range(runs):
        sides = [("airflow", airflow), ("script", script)]
        for side, times in sides if run % 2 == 0 else reversed(sides):
            seconds = (
                airflow_seconds(settings, api, breakdowns)
                if side == "airflow"
                else script_seconds(settings, run)
            )
            times.append(seconds)
        parts = breakdowns[-1]
        echo(
            f"  overhead {label} run {run + 1}/{runs}: Airflow {airflow[-1]:.1f} s, "
            f"plain script {script[-1]:.1f} s, ratio {airflow[-1] / script[-1]:.2f}; "
            f"analytics: build task {parts['build']:.1f} s, then {parts['tail']:.1f} s to the "
            f"run's end, {parts['tasks']:.0f} tasks, {parts.get('task', 0):.1f} s per task after "
            f"the build; load average {os.getloadavg()[0]:.1f}"
        )
        if after_pair:
            after_pair()
    per_task = [b["task"] for b in breakdowns if "task" in b]
    return {
        "ratio": statistics.median(a / s for a, s in zip(airflow, script, strict=True)),
        "airflow_seconds": statistics.median(airflow),
        "script_seconds": statistics.median(script),
        "build_seconds": statistics.median(b["build"] for b in breakdowns),
        "tail_seconds": statistics.median(b["tail"] for b in breakdowns),
        **({"task_seconds": statistics.median(per_task)} if per_task else {}),
    }
