"""Land test files, run the raw DAG, and compute what the raw tables must hold from the files.

Expected totals come from the objects in the bucket (pandas and pyarrow count their rows), never
from the pipeline's own SQL or audit.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Collection, Iterator
from contextlib import closing, contextmanager

import pandas as pd
import pyarrow.parquet as pq
import yaml

from local import pipeline
from local.samples import LANDING_PREFIX
from local.settings import LANDING_BUCKET
from local.stack import wait_for_dags
from snowflake_pipeline.config import FileType, PipelineConfig, Source, load_config


def config_of(sources_file) -> PipelineConfig:
    return load_config(sources_file)


@contextmanager
def sources_changed(stack, sources_file, change: Callable[[dict], object]) -> Iterator[None]:
    """The stack's sources file changed by `change` (given its YAML data to edit) and snowflake_raw
    re-parsed from it, for the block; afterwards the file as it was, re-parsed again, so that the
    lane's later tests run on the lane's own sources."""
    settings, api = stack
    original = sources_file.read_text()
    edited = yaml.safe_load(original)
    change(edited)
    sources_file.write_text(yaml.safe_dump(edited, sort_keys=False))
    try:
        wait_for_dags(api, (pipeline.RAW,), settings)
        yield
    finally:
        sources_file.write_text(original)
        wait_for_dags(api, (pipeline.RAW,), settings)


def key_of(source: Source, name: str) -> str:
    return f"{LANDING_PREFIX}{source.prefix}{name}"


def put(s3, key: str, body: bytes | str) -> None:
    s3.put_object(
        Bucket=LANDING_BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body
    )


def delete(s3, key: str) -> None:
    s3.delete_object(Bucket=LANDING_BUCKET, Key=key)


def rows_in(body: bytes, source: Source) -> int:
    """Data rows of one file, read the way a person would check it (pandas, pyarrow)."""
    kind = source.format.type
    if kind is FileType.json:
        return sum(1 for line in body.decode().splitlines() if line.strip())
    if kind is FileType.parquet:
        return pq.read_metadata(io.BytesIO(body)).num_rows
    if not body.strip():
        return 0
    return len(pd.read_csv(io.BytesIO(body), header=None, skiprows=source.format.skip_header))


def objects(s3, source: Source) -> list[str]:
    keys = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=LANDING_BUCKET, Prefix=LANDING_PREFIX + source.prefix
    )
    for page in pages:
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def expected_raw_counts(s3, config: PipelineConfig, but: Collection[str] = ()) -> dict[str, int]:
    """Rows per raw table from the files in the bucket; the sources named in `but` left out."""
    counts = {}
    for source in config.sources:
        if source.name in but:
            continue
        bodies = (
            s3.get_object(Bucket=LANDING_BUCKET, Key=key)["Body"].read()
            for key in objects(s3, source)
        )
        counts[config.table_of(source)] = sum(rows_in(body, source) for body in bodies)
    return counts


def raw_counts(conn, config: PipelineConfig) -> dict[str, int]:
    counts = {}
    with closing(conn.cursor()) as cur:
        for source in config.sources:
            table = config.table_of(source)
            counts[table] = cur.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return counts


def files_loaded_twice(conn, config: PipelineConfig) -> list[tuple]:
    """Files the audit says were loaded more than once: must always be empty."""
    with closing(conn.cursor()) as cur:
        return cur.execute(
            f"SELECT source, file, COUNT(*) FROM {config.audit_table} WHERE status = 'LOADED' "
            "GROUP BY source, file HAVING COUNT(*) > 1"
        ).fetchall()


def failures_of_run(conn, config: PipelineConfig, run_id: str) -> list[tuple[str, str, str]]:
    with closing(conn.cursor()) as cur:
        return cur.execute(
            f"SELECT source, file, first_error FROM {config.audit_table} "
            "WHERE dag_run_id = %s AND status = 'LOAD_FAILED' ORDER BY source",
            (run_id,),
        ).fetchall()


def run_raw(api, timeout: float = 900) -> pipeline.RunOutcome:
    run_id = pipeline.trigger_raw(api, note="e2e")
    return pipeline.follow(api, pipeline.RAW, run_id, timeout, echo=lambda _line: None)


def task_log(api, run_id: str, task_id: str, dag_id: str = pipeline.RAW) -> str:
    return api.task_log(dag_id, run_id, task_id)


def task_instances(api, run_id: str) -> dict[str, dict]:
    return {t["task_id"]: t for t in api.task_instances(pipeline.RAW, run_id)}


def tasks_in_state(api, run_id: str, *states: str) -> list[str]:
    return [t for t, ti in task_instances(api, run_id).items() if ti["state"] in states]
