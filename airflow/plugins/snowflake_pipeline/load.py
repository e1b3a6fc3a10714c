"""Load one raw source: create its table, COPY INTO from the stage, record the audit rows.

COPY and the audit insert commit together, so the audit never claims rows the table lacks.
A data error (bad file) fails the task at once with the file named; connection problems raise
as usual so that Airflow retries them.
"""

from __future__ import annotations

import logging
import re
from contextlib import closing
from dataclasses import dataclass

from snowflake_pipeline.audit import (
    as_params,
    failure_row,
    render_insert,
    rows_from_copy_result,
)
from snowflake_pipeline.config import PipelineConfig, Source
from snowflake_pipeline.sql_render import render_copy_into, render_create_table

log = logging.getLogger(__name__)

# Snowflake names the file as File 'path'; DuckDB (the emulator's engine) as file "url".
_FILE_IN_ERROR = re.compile(r"""[Ff]ile\s+['"]([^'"]+)['"]""")


class SourceLoadError(Exception):
    """A source's files could not be loaded; nothing of this COPY was kept."""


@dataclass(frozen=True)
class LoadSummary:
    source: str
    table: str
    files_loaded: int
    files_skipped: int
    rows_loaded: int

    def __str__(self) -> str:
        return (
            f"{self.source} -> {self.table}: {self.files_loaded} new file(s), "
            f"{self.rows_loaded} row(s) loaded, {self.files_skipped} file(s) already loaded"
        )


def file_named_in(error: str) -> str | None:
    match = _FILE_IN_ERROR.search(error)
    return match.group(1) if match else None


def load_source(conn, config: PipelineConfig, source: Source, dag_run_id: str) -> LoadSummary:
    """Run the load on an open DB-API connection to Snowflake (snowflake-connector-python)."""
    from snowflake.connector import DictCursor
    from snowflake.connector.errors import ProgrammingError

    table = config.table_of(source)
    insert_audit = render_insert(config.audit_table)
    with closing(conn.cursor(DictCursor)) as cur:
        cur.execute(render_create_table(config, source))
        try:
            cur.execute("BEGIN")
            cur.execute(render_copy_into(config, source))
            audit = rows_from_copy_result(dag_run_id, source.name, cur.fetchall())
            if audit:
                cur.executemany(insert_audit, as_params(audit))
            cur.execute("COMMIT")
        except ProgrammingError as exc:
            cur.execute("ROLLBACK")
            message = str(exc.msg or exc)
            failed_file = file_named_in(message)
            cur.execute(
                insert_audit,
                as_params([failure_row(dag_run_id, source.name, message, failed_file)])[0],
            )
            where = f"file {failed_file}" if failed_file else "a file of its stage prefix"
            raise SourceLoadError(
                f"source {source.name!r}: COPY INTO {table} failed on {where}; nothing from this "
                f"load was kept and earlier loads are intact. Fix or remove the file and re-run. "
                f"Snowflake said: {message}"
            ) from exc

    loaded = [r for r in audit if r.status.upper() in ("LOADED", "PARTIALLY_LOADED")]
    return LoadSummary(
        source=source.name,
        table=table,
        files_loaded=len(loaded),
        files_skipped=len(audit) - len(loaded),
        rows_loaded=sum(r.rows_loaded for r in loaded),
    )
