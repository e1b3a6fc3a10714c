"""Load one raw source: create its table, COPY INTO from the stage, record the audit rows.

COPY and the audit insert commit together, so the audit never claims rows the table lacks.
A data error (a bad file: Snowflake's 100xxx codes, or an empty file where the source refuses
them) fails the task at once with the file named. Anything else (stage unreachable, connection
lost) raises a retryable error, and Snowflake's load metadata makes the retry load each file once.
With `on_error: skip_file` the good files' rows are committed first, then the task fails naming
each skipped file; the next run tries only those again.
"""

from __future__ import annotations

import re
from contextlib import closing
from dataclasses import dataclass

from snowflake_pipeline.audit import (
    as_params,
    failure_row,
    render_insert,
    rows_from_copy_result,
)
from snowflake_pipeline.config import EmptyFiles, PipelineConfig, Source
from snowflake_pipeline.sql_render import (
    render_add_lineage,
    render_copy_into,
    render_create_table,
)

# Snowflake names the file of a COPY error on a line of its own: File 'path', line N, ...
_FILE_IN_ERROR = re.compile(r"File '([^']+)'")

# Snowflake's error codes for data that cannot be loaded (parse, column count, conversion, NULL).
DATA_ERROR_CODES = range(100000, 101000)
# The statement itself refused (001xxx: syntax, an option value Snowflake does not accept):
# retrying cannot help, the sources file must change. 002003 ("stage does not exist or not
# authorized") is not among them: a stage or grant being (re)created is retried like an outage.
STATEMENT_ERROR_CODES = range(1000, 2000)


class SourceLoadError(Exception):
    """A source's files could not be loaded; nothing of this COPY was kept. Not retried."""


class PartialLoadError(SourceLoadError):
    """`on_error: skip_file` skipped bad files; the good files' rows were loaded and kept."""

    SHOWN = 5  # files named in the message; the audit table has every one

    def __init__(self, summary: LoadSummary, failed: list, audit_table: str):
        self.summary, self.failed = summary, failed
        named = "; ".join(f"File '{r.file}': {r.first_error}" for r in failed[: self.SHOWN])
        more = len(failed) - self.SHOWN
        super().__init__(
            f"source {summary.source!r}: partial load: {len(failed)} bad file(s) skipped "
            f"(on_error: skip_file), {summary.files_loaded} good file(s) with "
            f"{summary.rows_loaded} row(s) loaded into {summary.table} and kept. Fix or remove "
            f"the bad file(s) and re-run: only they load, nothing twice. {named}"
            + (f"; and {more} more (LOAD_FAILED rows in {audit_table})" if more > 0 else "")
        )


class StageUnavailableError(Exception):
    """The COPY failed for a reason other than the data (e.g. the stage is unreachable)."""


class _EmptyFileError(Exception):
    def __init__(self, file: str, source: str):
        self.file = file
        super().__init__(
            f"File '{file}' has no data rows (empty or header only). Fix the export and land the "
            f"file again, or set `empty_files: load` for source {source!r} in the sources file "
            "to accept empty files"
        )


@dataclass(frozen=True)
class LoadSummary:
    source: str
    table: str
    files_loaded: int
    files_skipped: int  # loaded by an earlier run
    rows_loaded: int
    files_failed: int = 0  # skipped as bad (on_error: skip_file)

    def __str__(self) -> str:
        failed = f", {self.files_failed} bad file(s) skipped" if self.files_failed else ""
        return (
            f"{self.source} -> {self.table}: {self.files_loaded} new file(s), "
            f"{self.rows_loaded} row(s) loaded, {self.files_skipped} file(s) already loaded"
            f"{failed}"
        )


def file_named_in(error: str) -> str | None:
    match = _FILE_IN_ERROR.search(error)
    return match.group(1) if match else None


def _empty_files(audit) -> list[str]:
    return [r.file for r in audit if r.status.upper() == "LOADED" and r.rows_parsed == 0]


def load_source(conn, config: PipelineConfig, source: Source, dag_run_id: str) -> LoadSummary:
    """Run the load on an open DB-API connection to Snowflake (snowflake-connector-python)."""
    from snowflake.connector import DictCursor

    # Errors Snowflake answered (with a code); network errors are not among them and retry.
    from snowflake.connector.errors import DataError, IntegrityError, ProgrammingError

    answered = (ProgrammingError, IntegrityError, DataError)

    table = config.table_of(source)
    insert_audit = render_insert(config.audit_table)
    with closing(conn.cursor(DictCursor)) as cur:
        cur.execute(render_create_table(config, source))
        for statement in render_add_lineage(config, source):
            cur.execute(statement)
        try:
            cur.execute("BEGIN")
            cur.execute(render_copy_into(config, source))
            audit = rows_from_copy_result(dag_run_id, source.name, cur.fetchall())
            if source.empty_files is EmptyFiles.fail and (empty := _empty_files(audit)):
                raise _EmptyFileError(empty[0], source.name)
            if audit:
                cur.executemany(insert_audit, as_params(audit))
            cur.execute("COMMIT")
        except (*answered, _EmptyFileError) as exc:
            cur.execute("ROLLBACK")
            message = str(getattr(exc, "msg", None) or exc)
            failed_file = getattr(exc, "file", None) or file_named_in(message)
            cur.execute(
                insert_audit,
                as_params([failure_row(dag_run_id, source.name, message, failed_file)])[0],
            )
            where = f"file {failed_file}" if failed_file else "a file of its stage prefix"
            if isinstance(exc, _EmptyFileError) or exc.errno in DATA_ERROR_CODES:
                raise SourceLoadError(
                    f"source {source.name!r}: COPY INTO {table} failed on {where}; nothing from "
                    f"this load was kept and earlier loads are intact. Fix or remove the file "
                    f"and re-run. Snowflake said: {message}"
                ) from exc
            if exc.errno in STATEMENT_ERROR_CODES:
                raise SourceLoadError(
                    f"source {source.name!r}: Snowflake refused COPY INTO {table} itself (not a "
                    f"file, not the stage): check the source's format options in the sources "
                    f"file; nothing was loaded. Snowflake said: {message}"
                ) from exc
            raise StageUnavailableError(
                f"source {source.name!r}: COPY INTO {table} from @{config.stage}/{source.prefix} "
                f"failed, not because of the data; nothing from this load was kept, and a retry "
                f"loads each file once. Snowflake said: {message}"
            ) from exc

    loaded = [r for r in audit if r.status.upper() in ("LOADED", "PARTIALLY_LOADED")]
    failed = [r for r in audit if r.status.upper() == "LOAD_FAILED"]
    summary = LoadSummary(
        source=source.name,
        table=table,
        files_loaded=len(loaded),
        files_skipped=len(audit) - len(loaded) - len(failed),
        rows_loaded=sum(r.rows_loaded for r in loaded),
        files_failed=len(failed),
    )
    if failed:
        raise PartialLoadError(summary, failed, config.audit_table)
    return summary
