"""A new month of flights landing on the 10x data: the incremental model against a full rebuild.

What the incremental `flights` model is for: the raw and analytics tables already hold the ten
years of `flights_10x` (the `10x` part leaves them so), then one more month lands. Each side
lands a month of its own (the sample's month shifted past the ten years: new flights, new keys,
never the same month twice) and is timed from the trigger of snowflake_raw:

* incremental (the dbt layer as it runs): to the end of the snowflake_analytics run the raw run
  schedules; `flights` adds the new month's rows only (the other marts are tables and their
  tests read the whole tables, as before);
* full rebuild (what the SQL layer before dbt did on every run: every analytics table from all
  raw rows): snowflake_analytics paused, the same raw run, then `dbt build --full-refresh` of the
  same project on the same stack, run by the CLI as soon as the raw run ends. That side's
  analytics part has no Airflow scheduling and no task processes, so it is the cheaper side by
  construction.

Both sides alternate (incremental first in even pairs), so machine noise lands on both.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd

from bench.flights_10x import BASE_YEAR, YEARS, shift_years

ANALYTICS = "snowflake_analytics"


def month_after(flights: pd.DataFrame, index: int) -> tuple[str, bytes, int]:
    """(key under the landing prefix, newline-delimited JSON, rows) of the `index`-th month after
    the ten years: month `index % 12 + 1` of the sample, `YEARS + index // 12` years later."""
    years, month = YEARS + index // 12, index % 12 + 1
    rows = shift_years(flights[flights["month"] == month], years)
    key = f"flights/{BASE_YEAR + years}-{month:02d}.json"
    return key, rows.to_json(orient="records", lines=True).encode(), len(rows)


def months_after(flights: pd.DataFrame, count: int) -> Iterator[tuple[str, bytes, int]]:
    for index in range(count):
        yield month_after(flights, index)


def _land(s3, key: str, body: bytes) -> None:
    from local.samples import LANDING_PREFIX
    from local.settings import LANDING_BUCKET

    s3.put_object(Bucket=LANDING_BUCKET, Key=LANDING_PREFIX + key, Body=body)


def _raw_run(api) -> dict:
    from local import pipeline

    run_id = pipeline.trigger_raw(api, note="bench new month")
    raw = pipeline.follow(api, pipeline.RAW, run_id, timeout=1800, echo=lambda _line: None)
    if raw.state != "success":
        raise RuntimeError(f"{pipeline.RAW} {raw.state}: failed tasks {raw.failed_tasks}")
    return api.dag_run(pipeline.RAW, run_id)


def incremental(api) -> dict[str, float]:
    """Trigger to the end of the analytics run it schedules; and that run alone."""
    from local import pipeline

    triggered = datetime.now(UTC)
    raw = _raw_run(api)
    analytics = pipeline.wait_for_analytics_after(api, raw, timeout=1800, echo=lambda _line: None)
    if analytics.state != "success":
        raise RuntimeError(f"{ANALYTICS} failed: {analytics.failed_tasks}")
    run = api.dag_run(ANALYTICS, analytics.run_id)
    ended = datetime.fromisoformat(run["end_date"])
    return {
        "total": (ended - triggered).total_seconds(),
        "analytics": (ended - datetime.fromisoformat(run["queued_at"])).total_seconds(),
    }


def full_rebuild(settings, api, dbt_env: dict[str, str]) -> dict[str, float]:
    """Trigger to the end of `dbt build --full-refresh`, snowflake_analytics paused meanwhile."""
    from local import dbt

    api.pause(ANALYTICS)
    try:
        triggered = datetime.now(UTC)
        _raw_run(api)
        started = time.monotonic()
        built = dbt.run(settings, ["build", "--full-refresh", "--quiet"], env=dbt_env)
        rebuilt = time.monotonic() - started
        if built.returncode != 0:
            raise RuntimeError(f"dbt build --full-refresh failed (exit {built.returncode})")
        return {"total": (datetime.now(UTC) - triggered).total_seconds(), "analytics": rebuilt}
    finally:
        api.unpause(ANALYTICS)


def measure(settings, api, s3, runs: int, echo=print) -> dict[str, float]:
    """`runs` pairs on a stack holding the 10x flights, raw and built; medians and their ratio."""
    from bench import plain_pipeline
    from local.samples import data_dir

    flights = pd.read_csv(data_dir() / "flights.csv.zip")
    plain_pipeline.prepare(settings)  # the dbt profile, outside any timing
    dbt_env = dict(plain_pipeline._dbt_env(settings))
    months = months_after(flights, 2 * runs)
    sides: dict[str, list[dict[str, float]]] = {"incremental": [], "full_rebuild": []}
    for run in range(runs):
        order = ["incremental", "full_rebuild"]
        for side in order if run % 2 == 0 else reversed(order):
            key, body, rows = next(months)
            _land(s3, key, body)
            figures = (
                incremental(api) if side == "incremental" else full_rebuild(settings, api, dbt_env)
            )
            sides[side].append(figures)
            echo(
                f"  new month {key} ({rows:,} flights), {side}: trigger to done "
                f"{figures['total']:.1f} s (analytics part {figures['analytics']:.1f} s)"
            )
        inc, full = sides["incremental"][-1], sides["full_rebuild"][-1]
        echo(
            f"  new month run {run + 1}/{runs}: incremental {inc['total']:.1f} s, full rebuild "
            f"{full['total']:.1f} s, ratio {inc['total'] / full['total']:.2f}"
        )

    def median(side: str, part: str) -> float:
        return statistics.median(figures[part] for figures in sides[side])

    return {
        "new_month_incremental_seconds_10x": median("incremental", "total"),
        "new_month_full_rebuild_seconds_10x": median("full_rebuild", "total"),
        "new_month_ratio_10x": statistics.median(
            inc["total"] / full["total"]
            for inc, full in zip(sides["incremental"], sides["full_rebuild"], strict=True)
        ),
        "new_month_incremental_analytics_seconds_10x": median("incremental", "analytics"),
        "new_month_full_rebuild_dbt_seconds_10x": median("full_rebuild", "analytics"),
    }
