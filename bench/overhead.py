"""Orchestration overhead: the pipeline through Airflow against the same SQL run by a plain script.

Both sides run on the same stack, on the same data, alternately (Airflow first in even pairs,
the script first in odd ones), so that machine noise lands on both. Before each side the raw
tables are dropped, so every run loads every file again.
"""

from __future__ import annotations

import statistics
import time
from contextlib import closing
from datetime import UTC, datetime

from bench import plain_pipeline
from local import pipeline
from local.airflow_api import AirflowAPI
from local.airflow_env import connect_snowflake
from local.settings import Settings


def airflow_seconds(settings: Settings, api: AirflowAPI) -> float:
    """Trigger of snowflake_raw to the end of the snowflake_analytics run it schedules."""
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
    airflow, script = [], []
    for run in range(runs):
        sides = [("airflow", airflow), ("script", script)]
        for side, times in sides if run % 2 == 0 else reversed(sides):
            seconds = (
                airflow_seconds(settings, api)
                if side == "airflow"
                else script_seconds(settings, run)
            )
            times.append(seconds)
        echo(
            f"  overhead {label} run {run + 1}/{runs}: Airflow {airflow[-1]:.1f} s, "
            f"plain script {script[-1]:.1f} s, ratio {airflow[-1] / script[-1]:.2f}"
        )
        if after_pair:
            after_pair()
    return {
        "ratio": statistics.median(a / s for a, s in zip(airflow, script, strict=True)),
        "airflow_seconds": statistics.median(airflow),
        "script_seconds": statistics.median(script),
    }
