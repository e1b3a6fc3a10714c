"""COPY errors in Snowflake's words: the staged file named, the line where there is one, and
Snowflake's error code, so that the pipeline tells a bad file from an unreachable stage.

fakesnow lets DuckDB's parse errors escape as HTTP 500 without the file, reports a bucket that
cannot be listed like any other error, and fails COPY options it cannot honour with Python
exceptions. Here every COPY error is a ProgrammingError as Snowflake would answer:
- a bad file: 100xxx, "... File '<url>', line N" (the pipeline fails the load at once);
- an unreachable stage: 091003 "Failure using stage area" (the pipeline retries);
- an option the emulator cannot honour: 001008, naming it (Snowflake itself would run it).
This patch is installed last: it wraps the others.
"""

from __future__ import annotations

import json
import re

from local.emulator.fakesnow_internals import internal, replace
from local.emulator.stage_files import FILESYSTEMS

# Snowflake's error codes for a bad staged file (100xxx) and for an unreadable stage (091003).
DATA_ERRORS = (
    ("Expected Number of Columns", 100080),
    ("Could not convert", 100038),
    ("Malformed JSON", 100069),
    ("NOT NULL constraint", 100072),
)
BAD_FILE_ERRNO = 100069
STAGE_ERRNO = 91003
INTERNAL_ERRNO = 603  # "SQL execution internal error": anything else COPY cannot say better
UNSUPPORTED_ERRNO = 1008  # "invalid value for parameter": an option the emulator cannot honour
# DuckDB names a file as file "url"; Snowflake's form (File 'url') is what the pipeline reads.
_DUCKDB_FILE = re.compile(r'\bfile "([^"]+)"', re.IGNORECASE)
STAGE_FILE = re.compile(r"read_(?:csv|json_objects|parquet)\('((?:[^']|'')+)'", re.IGNORECASE)
# DuckDB's own JSON position counts records, one past the line; the line is added correctly below.
_JSON_POSITION = re.compile(r' in file "[^"]*", at byte \d+ in (?:line|record/value) \d+')
_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")


class Unsupported(NotImplementedError):
    """A COPY option the emulator cannot honour; raised by the other patches."""


def unsupported(option: str, why: str) -> Unsupported:
    return Unsupported(
        f"the local emulator cannot honour {option} ({why}); Snowflake itself can. Use another "
        "value for local runs, or load this source against a Snowflake account"
    )


def install() -> None:
    import duckdb
    from botocore.exceptions import BotoCoreError
    from snowflake.connector.errors import ProgrammingError

    class NamingConnection:
        """DuckDB as fakesnow's COPY uses it, with errors that name the staged file."""

        def __init__(self, conn):
            self._conn = conn

        def __getattr__(self, name):
            return getattr(self._conn, name)

        def execute(self, sql, *args, **kwargs):
            try:
                return self._conn.execute(sql, *args, **kwargs)
            except duckdb.Error as exc:
                url = staged_file(sql)
                if url is None:
                    raise
                raise load_error(exc, url) from None

    def copy_into(duck_conn, current_database, current_schema, expr, *args, **kwargs):
        try:
            return original(
                NamingConnection(duck_conn), current_database, current_schema, expr, *args, **kwargs
            )
        except ProgrammingError:
            raise
        except NotImplementedError as exc:
            detail = str(exc) if isinstance(exc, Unsupported) else f"fakesnow: {exc}"
            raise ProgrammingError(
                msg=f"SQL compilation error:\n{detail}", errno=UNSUPPORTED_ERRNO, sqlstate="22023"
            ) from None
        except (duckdb.Error, OSError, BotoCoreError) as exc:
            if isinstance(exc, duckdb.Error) and not is_storage_error(exc):
                if named := _DUCKDB_FILE.search(str(exc)):
                    raise load_error(exc, named.group(1)) from None
                raise ProgrammingError(
                    msg=f"SQL execution internal error: {_first_line(exc)}",
                    errno=INTERNAL_ERRNO,
                    sqlstate="XX000",
                ) from None
            # Listing the stage failed: the bucket is unreachable, not a bad file.
            raise ProgrammingError(
                msg=f"Failure using stage area. Cause: [{_first_line(exc)}]",
                errno=STAGE_ERRNO,
                sqlstate="XX000",
            ) from None

    internal("fakesnow.cursor", "copy_into", "copy_errors")
    original = replace("fakesnow.cursor", "copy_into", "copy_errors", copy_into)


def staged_file(sql) -> str | None:
    """The staged file a statement of fakesnow's COPY reads, if it reads one."""
    match = STAGE_FILE.search(sql) if isinstance(sql, str) else None
    return match.group(1).replace("''", "'") if match else None


def is_storage_error(exc: Exception) -> bool:
    """Reading the bucket failed (not the file's content). DuckDB raises its bare base Error for
    exceptions from a Python filesystem (s3fs), and IO/HTTP errors for its own."""
    import duckdb

    if type(exc) is duckdb.Error:
        return True
    if not isinstance(exc, duckdb.IOException | duckdb.HTTPException):
        return False
    # DuckDB reports a file it cannot decode (not parquet, not gzip, not zstd) as an IO error too:
    # that is a bad file, which a retry cannot fix.
    return not _CONTENT_ERROR.search(str(exc))


_CONTENT_ERROR = re.compile(r"parquet|GZIP stream|frame descriptor|zstd|decompress", re.IGNORECASE)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    # A Python filesystem's error arrives as a traceback: its cause is the "XError: ..." line.
    cause = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
    if cause:
        return cause[-1]
    return lines[0] if lines else type(exc).__name__


def load_error(exc: Exception, url: str):
    """A Snowflake-style ProgrammingError for a staged file that cannot be loaded."""
    from snowflake.connector.errors import ProgrammingError

    text = str(exc)
    if is_storage_error(exc):
        return ProgrammingError(
            msg=f"Failure using stage area. Cause: [{_first_line(exc)}]  File '{url}'",
            errno=STAGE_ERRNO,
            sqlstate="XX000",
        )
    errno = next((code for marker, code in DATA_ERRORS if marker in text), BAD_FILE_ERRNO)
    line = _CSV_LINE.search(text)
    line_no = int(line.group(1)) if line else None
    if "Malformed JSON" in text:
        line_no = _first_bad_json_line(url)
    detail = text.split("\n")
    reason = next((part for part in detail[1:] if "Expected" in part or "convert" in part), "")
    first = _JSON_POSITION.sub("", _first_line(exc))
    message = f"{first}{' ' + reason.strip() if reason else ''}\n  File '{url}'"
    if line_no:
        message += f", line {line_no}"
    return ProgrammingError(msg=message, errno=errno, sqlstate="22000")


def _first_bad_json_line(url: str) -> int | None:
    """DuckDB numbers JSON errors by record, not line; find the line as Snowflake reports it."""
    import fsspec

    scheme = url.split("://", 1)[0]
    opener = FILESYSTEMS[scheme].open if scheme in FILESYSTEMS else fsspec.open(url).fs.open
    try:
        with opener(url, "rt", compression="infer") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        json.loads(line)
                    except ValueError:
                        return number
    except OSError:
        return None
    return None
