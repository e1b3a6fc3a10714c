"""Event-driven latency: a file put into the landing bucket to its rows being queryable in the raw
table (event_to_raw_seconds) and to the end of the analytics run its load queued
(event_to_analytics_seconds); the median of `runs` files, each a new day of weather.

The bench's stack runs its other parts without events (they trigger their runs themselves); this
part turns events on in the stack's sources file, as a deployment does, and off again.
"""

from __future__ import annotations

import statistics
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import yaml

from local import pipeline
from local.airflow_api import AirflowAPI
from local.airflow_env import connect_snowflake
from local.processes import wait_until
from local.samples import LANDING_PREFIX, weather_day
from local.settings import LANDING_BUCKET, Settings
from snowflake_pipeline.config import load_config

EVENTS = {"stage_path": LANDING_PREFIX}


def without_events(sample: Path, destination: Path) -> Path:
    """A copy of the sources file with neither events nor a schedule."""
    config = yaml.safe_load(sample.read_text())
    config.pop("events", None)
    config["schedule"] = None
    destination.write_text(yaml.safe_dump(config, sort_keys=False))
    return destination


def _count(settings: Settings, table: str) -> int:
    with closing(connect_snowflake(settings)) as conn, closing(conn.cursor()) as cur:
        return cur.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # nosec B608


def measure(
    settings: Settings, api: AirflowAPI, s3, sources_file: Path, runs: int = 5, echo=print
) -> dict:
    original = sources_file.read_text()
    config = yaml.safe_load(original)
    config["events"] = EVENTS
    sources_file.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        wait_until(
            lambda: pipeline.watching_events(api),
            120,
            "snowflake_raw scheduled on the landing events",
            2,
        )
        raw_config = load_config(sources_file)
        table = raw_config.table_of(raw_config.source_named("weather"))
        to_raw, to_analytics = [], []
        for run in range(runs):
            body = weather_day(2200 + run)
            before = _count(settings, table)
            known = frozenset(r["dag_run_id"] for r in api.dag_runs(pipeline.RAW, limit=10))
            landed_at = datetime.now(UTC)
            started = time.monotonic()
            key = f"{LANDING_PREFIX}weather/bench-event-{run}.csv"
            s3.put_object(Bucket=LANDING_BUCKET, Key=key, Body=body)
            wait_until(lambda n=before: _count(settings, table) > n, 300, "the landed rows", 0.2)
            to_raw.append(time.monotonic() - started)
            run_id = pipeline.wait_for_event_run(api, landed_at, 300, lambda _l: None, known)
            outcomes = pipeline.follow_through(api, run_id, 600, lambda _l: None)
            if [o.state for o in outcomes] != ["success", "success"]:
                raise RuntimeError(f"event run {run_id}: {[(o.dag_id, o.state) for o in outcomes]}")
            ended = api.dag_run(pipeline.ANALYTICS, outcomes[1].run_id)["end_date"]
            to_analytics.append((datetime.fromisoformat(ended) - landed_at).total_seconds())
            echo(f"  event {run + 1}/{runs}: rows in {to_raw[-1]:.1f} s, analytics done in "
                 f"{to_analytics[-1]:.1f} s")  # fmt: skip
    finally:
        sources_file.write_text(original)
    return {
        "event_to_raw_seconds": statistics.median(to_raw),
        "event_to_analytics_seconds": statistics.median(to_analytics),
    }
