"""COPY's ON_ERROR = SKIP_FILE: the good files load, each bad file is a LOAD_FAILED result row
with its first error and line, and is tried again by the next COPY, as in Snowflake.

fakesnow accepts only ABORT_STATEMENT. DuckDB has no savepoints, and a failed statement aborts
the caller's whole transaction (the pipeline runs COPY between BEGIN and COMMIT), so each file's
statements run first on a connection of their own and are rolled back there. A file that fails
there is not loaded: its INSERT becomes a no-op, it gets no load history (so it is not taken for
loaded), and its result row says why in Snowflake's words (copy_errors). An unreachable stage
still fails the whole statement, as with any ON_ERROR.
"""

from __future__ import annotations

from local.emulator.copy_errors import STAGE_ERRNO, load_error, staged_file
from local.emulator.fakesnow_internals import internal, replace

SKIP_FILE = "SKIP_FILE"
_LOAD_HISTORY = "_fs_information_schema._fs_load_history"
_NOTHING_READ = "SELECT 0 WHERE false"  # stands in for a bad file's reads: no rows
_NOTHING_INSERTED = "SELECT 0"  # a bad file's INSERT: 0 rows affected


def take_skip_file(expr) -> bool:
    """Remove ON_ERROR = SKIP_FILE from a parsed COPY (fakesnow refuses it); True if it was set.
    Other ON_ERROR values stay for fakesnow to run (ABORT_STATEMENT) or refuse."""
    params = expr.args.get("params") or []
    kept = [
        param
        for param in params
        if not (
            getattr(param.this, "name", "").upper() == "ON_ERROR"
            and getattr(param.expression, "name", "").upper() == SKIP_FILE
        )
    ]
    if len(kept) == len(params):
        return False
    expr.set("params", kept)
    return True


class SkippingConnection:
    """fakesnow's DuckDB connection during one COPY with SKIP_FILE: each statement that reads a
    staged file is tried on a connection of its own first; a bad file's statements are not run."""

    def __init__(self, conn):
        self._conn = conn
        self.failed: dict[str, Exception] = {}  # url -> the Snowflake-style error

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def execute(self, sql, *args, **kwargs):
        url = staged_file(sql)
        if url is None:
            return self._conn.execute(sql, *args, **kwargs)
        if url not in self.failed and (error := self._trial(url, sql, *args, **kwargs)):
            self.failed[url] = error
        if url in self.failed:
            is_insert = sql.lstrip().upper().startswith("INSERT")
            return self._conn.execute(_NOTHING_INSERTED if is_insert else _NOTHING_READ)
        return self._conn.execute(sql, *args, **kwargs)

    def executemany(self, sql, rows, *args, **kwargs):
        """The load history of this COPY, without the skipped files."""
        if _LOAD_HISTORY in sql and self.failed:
            rows = [row for row in rows if row[1] not in self.failed]  # (schema, file, ...)
            if not rows:
                return self._conn
        return self._conn.executemany(sql, rows, *args, **kwargs)

    def _trial(self, url: str, sql: str, *args, **kwargs) -> Exception | None:
        import duckdb

        with self._conn.cursor() as trial:
            trial.execute("BEGIN")
            try:
                trial.execute(sql, *args, **kwargs)
            except duckdb.Error as exc:
                error = load_error(exc, url)
                if error.errno == STAGE_ERRNO:
                    raise error from None  # the stage, not the file: the statement fails
                return error
            finally:
                trial.execute("ROLLBACK")
        return None


def _result_row(row: tuple, columns: list[str], error: Exception) -> tuple:
    """A file's COPY result row as Snowflake reports a skipped file."""
    message, _, where = str(getattr(error, "msg", error)).partition("\n")
    line = where.rpartition(", line ")[2] if ", line " in where else None
    values = dict(zip(columns, row, strict=True))
    values.update(
        status="LOAD_FAILED",
        rows_parsed=0,  # the emulator stops at the first error: what it parsed is unknown
        rows_loaded=0,
        error_limit=1,
        errors_seen=1,
        first_error=message.strip(),
        first_error_line=int(line) if line else None,
    )
    return tuple(values[c] for c in columns)


def install() -> None:
    from sqlglot import exp

    result_file_name = internal("fakesnow.copy_into", "_result_file_name", "skip_file")

    def copy_into(duck_conn, current_database, current_schema, expr, *args, **kwargs):
        if not take_skip_file(expr):
            return original(duck_conn, current_database, current_schema, expr, *args, **kwargs)
        skipping = SkippingConnection(duck_conn)
        sql = original(skipping, current_database, current_schema, expr, *args, **kwargs)
        if not skipping.failed:
            return sql
        # Rewrite the result fakesnow produced: the skipped files' rows say LOAD_FAILED.
        columns = [d[0] for d in duck_conn.description]
        failed = {result_file_name(url): error for url, error in skipping.failed.items()}
        rows = [
            _result_row(row, columns, failed[row[0]]) if row[0] in failed else row
            for row in duck_conn.fetchall()
        ]
        # As fakesnow writes it: literal SQL, which fakesnow DESCRIBEs again for the result's types.
        sql = exp.select("*").from_(exp.values(rows, alias="t", columns=columns)).sql("duckdb")
        duck_conn.execute(sql)
        return sql

    original = replace("fakesnow.cursor", "copy_into", "skip_file", copy_into)
