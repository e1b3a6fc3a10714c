"""Raw load throughput: the stack's COPY INTO against DuckDB reading the same files directly.

Stack side: `load_source` (what a `load_*` task runs) through the connector, fakesnow over TLS
and S3 on moto. Engine side: DuckDB, the emulator's own engine, reading local copies of the same
files with the same reader fakesnow generates (read_json_objects / read_csv), into a fresh
in-memory database: the fastest this engine loads these files.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from contextlib import closing
from pathlib import Path

from bench import plain_pipeline
from local.airflow_env import connect_snowflake
from local.samples import LANDING_PREFIX
from local.settings import LANDING_BUCKET, Settings

SOURCES = ("flights", "weather")
# What fakesnow runs for these sources' FILE_FORMATs (fakesnow/copy_into.py).
ENGINE_SQL = {
    "flights": "CREATE TABLE t AS SELECT * FROM read_json_objects('{files}')",
    "weather": (
        "CREATE TABLE t AS SELECT * FROM read_csv('{files}', header = false, skip = 1, "
        "quote = '\"', nullstr = ['NA', ''])"
    ),
}


def download(s3, source: str, folder: Path) -> Path:
    """Copy the source's landed files to a local folder (not timed)."""
    target = folder / source
    target.mkdir(parents=True, exist_ok=True)
    prefix = f"{LANDING_PREFIX}{source}/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=LANDING_BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            s3.download_file(LANDING_BUCKET, obj["Key"], str(target / Path(obj["Key"]).name))
    return target


def engine_load(source: str, folder: Path) -> tuple[int, float]:
    import duckdb

    suffix = "json" if source == "flights" else "csv"
    with closing(duckdb.connect()) as duck:
        started = time.monotonic()
        duck.execute(ENGINE_SQL[source].format(files=f"{folder}/*.{suffix}"))
        seconds = time.monotonic() - started
        return duck.execute("SELECT COUNT(*) FROM t").fetchone()[0], seconds


def stack_load(settings: Settings, source_name: str, run: int) -> tuple[int, float]:
    from snowflake_pipeline.load import load_source

    config = plain_pipeline.raw_config()
    source = next(s for s in config.sources if s.name == source_name)
    with closing(connect_snowflake(settings)) as conn:
        with closing(conn.cursor()) as cur:
            cur.execute(f"DROP TABLE IF EXISTS {config.table_of(source)}")
        started = time.monotonic()
        summary = load_source(conn, config, source, f"bench_throughput_{run}")
        return summary.rows_loaded, time.monotonic() - started


def measure(settings: Settings, s3, runs: int, echo=print) -> dict:
    """Rows per second of both sources together, each side alternately; median of runs."""
    ratios, stack_rates, engine_rates = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-files-") as tmp:
        folders = {source: download(s3, source, Path(tmp)) for source in SOURCES}
        for run in range(runs):
            stack_rows = stack_seconds = engine_rows = engine_seconds = 0.0
            for source in SOURCES if run % 2 == 0 else reversed(SOURCES):
                sides = [("stack", None), ("engine", None)]
                for side, _ in sides if run % 2 == 0 else reversed(sides):
                    if side == "stack":
                        rows, seconds = stack_load(settings, source, run)
                        stack_rows, stack_seconds = stack_rows + rows, stack_seconds + seconds
                    else:
                        rows, seconds = engine_load(source, folders[source])
                        engine_rows, engine_seconds = engine_rows + rows, engine_seconds + seconds
            if stack_rows != engine_rows:
                raise RuntimeError(f"row counts differ: stack {stack_rows}, DuckDB {engine_rows}")
            stack_rates.append(stack_rows / stack_seconds)
            engine_rates.append(engine_rows / engine_seconds)
            ratios.append(stack_rates[-1] / engine_rates[-1])
            echo(
                f"  load throughput run {run + 1}/{runs}: stack {stack_rates[-1]:,.0f} rows/s, "
                f"DuckDB direct {engine_rates[-1]:,.0f} rows/s, ratio {ratios[-1]:.2f}"
            )
    return {
        "ratio": statistics.median(ratios),
        "stack_rows_per_second": statistics.median(stack_rates),
        "engine_rows_per_second": statistics.median(engine_rates),
    }
