"""fakesnow served over TLS, persistent on disk, with S3 stages read from the moto server.

These are fakesnow internals (`server.shared_fs`); the version is pinned and
test/local/test_snowflake_server.py guards the behaviour we rely on.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
from pathlib import Path

# Statements a real account needs but the emulator cannot parse. They become no-ops here only;
# sql/ keeps real Snowflake SQL.
EMULATOR_NOOPS = [
    r"\s*create\s+(or\s+replace\s+)?warehouse\b",
    r"\s*alter\s+warehouse\b",
    r"\s*create\s+(or\s+replace\s+)?role\b",
    r"\s*grant\b",
    r"\s*use\s+(secondary\s+)?(warehouse|role)\b",
    r"\s*create\s+(or\s+replace\s+)?(storage\s+)?integration\b",
]


MEMORY_LIMIT = "512MB"
# Idle memory: DuckDB keeps every S3 file it read in an external file cache (~100 MB after a
# load of the samples) and holds freed allocations until a task peaks above 128 MB.
DUCKDB_LEAN_SETTINGS = (
    "enable_external_file_cache = false",
    "allocator_flush_threshold = '16MB'",
    "allocator_background_threads = true",
)


def serve(
    host: str, port: int, db_dir: Path, s3_endpoint: str, tls_dir: Path, tls_names=()
) -> None:
    import importlib
    import os

    import s3fs
    import uvicorn
    from fakesnow.instance import FakeSnow

    # `fakesnow.server` the attribute is a function; we need the module of the same name.
    server = importlib.import_module("fakesnow.server")

    from local.tls import ensure_certificates

    _, cert, key = ensure_certificates(tls_dir, tuple(tls_names))
    _return_freed_memory_to_the_os()
    db_dir.mkdir(parents=True, exist_ok=True)
    fs = FakeSnow(db_path=str(db_dir), nop_regexes=EMULATOR_NOOPS)
    # Keep the emulator small beside Airflow: DuckDB would otherwise cache up to 80% of RAM.
    fs.duck_conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    for setting in DUCKDB_LEAN_SETTINGS:
        fs.duck_conn.execute(f"SET {setting}")
    # The stage's credentials: the environment's (the deploy rehearsal gives those of the storage
    # integration role, as Snowflake assumes it), else any, which moto accepts without IAM.
    # Listings cache off so files landed later are seen.
    s3 = s3fs.S3FileSystem(
        key=os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        secret=os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        token=os.environ.get("AWS_SESSION_TOKEN"),
        endpoint_url=s3_endpoint,
        use_listings_cache=False,
    )
    fs.duck_conn.register_filesystem(s3)
    _FILESYSTEMS["s3"] = s3
    server.shared_fs = fs
    _copy_into_as_snowflake_does()
    _list_stage_paths_recursively()
    _keep_load_history_on_create_if_not_exists()
    answer_retried_queries_once(server.app)
    logging.getLogger("fakesnow").setLevel(logging.INFO)
    uvicorn.run(
        server.app,
        host=host,
        port=port,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        log_level="warning",
    )


# Snowflake's error codes for a bad staged file (100xxx) and for an unreadable stage (091003).
# The pipeline fails a load at once on 100xxx and retries anything else, so the codes matter.
DATA_ERRORS = (
    ("Expected Number of Columns", 100080),
    ("Could not convert", 100038),
    ("Malformed JSON", 100069),
    ("NOT NULL constraint", 100072),
)
BAD_FILE_ERRNO = 100069
STAGE_ERRNO = 91003
INTERNAL_ERRNO = 603  # "SQL execution internal error": anything else COPY cannot say better
# DuckDB names a file as file "url"; Snowflake's form (File 'url') is what the pipeline reads.
_DUCKDB_FILE = re.compile(r'\bfile "([^"]+)"', re.IGNORECASE)
_STAGE_FILE = re.compile(r"read_(?:csv|json_objects|parquet)\('((?:[^']|'')+)'", re.IGNORECASE)
# DuckDB's own JSON position counts records, one past the line; the line is added correctly below.
_JSON_POSITION = re.compile(r' in file "[^"]*", at byte \d+ in (?:line|record/value) \d+')
_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
# Filesystems registered on DuckDB by scheme, to re-read a bad file and name its line.
_FILESYSTEMS: dict = {}
_csv_columns: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("csv_columns")


def _copy_into_as_snowflake_does() -> None:
    """Make COPY behave as Snowflake's does on bad files, and say so as Snowflake does.

    fakesnow reads CSV with DuckDB's sniffer, so a row with too many columns, a header-only file
    or an empty file fails with a confusing binder error, and its parse errors escape as HTTP 500
    without the file. Here CSV is read strictly with the target table's column types (errors name
    the line), and every COPY error is a ProgrammingError naming the file, the line where there
    is one, and Snowflake's error code.
    """
    import duckdb
    import fakesnow.copy_into
    import fakesnow.cursor
    from botocore.exceptions import BotoCoreError
    from snowflake.connector.errors import ProgrammingError

    original_copy = fakesnow.cursor.copy_into
    original_csv = fakesnow.copy_into.ReadCSV.read_expression

    def read_csv_strictly(self, url):
        expression = original_csv(self, url)
        columns = _csv_columns.get({})
        if not columns:
            return expression
        quote = self.quote or ""
        options = [("auto_detect", False), ("delim", self.sep), ("escape", quote)]
        if self.quote is None:
            options.append(("quote", quote))
        for name, value in [*options, ("strict_mode", True)]:
            expression.append("expressions", self.make_eq(name, value))
        import sqlglot

        struct = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
        expression.append("expressions", sqlglot.parse_one(f"columns = {{{struct}}}"))
        return expression

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
                match = _STAGE_FILE.search(sql) if isinstance(sql, str) else None
                if match is None:
                    raise
                raise _load_error(exc, match.group(1).replace("''", "'")) from None

    def copy_into(duck_conn, current_database, current_schema, expr, *args, **kwargs):
        token = _csv_columns.set(_table_types(duck_conn, expr, current_database, current_schema))
        try:
            return original_copy(
                NamingConnection(duck_conn), current_database, current_schema, expr, *args, **kwargs
            )
        except ProgrammingError:
            raise
        except (duckdb.Error, OSError, BotoCoreError) as exc:
            if isinstance(exc, duckdb.Error) and not _is_storage_error(exc):
                if named := _DUCKDB_FILE.search(str(exc)):
                    raise _load_error(exc, named.group(1)) from None
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
        finally:
            _csv_columns.reset(token)

    fakesnow.cursor.copy_into = copy_into
    fakesnow.copy_into.ReadCSV.read_expression = read_csv_strictly


def _list_stage_paths_recursively() -> None:
    """COPY loads every file whose key starts with the stage path, sub-folders included, as
    Snowflake does (date-partitioned deliveries: `la_riots/2024/05/01/part-0001.csv`). fakesnow
    globs one level, which lists a sub-folder as if it were a file and fails reading it."""
    import fakesnow.copy_into

    original = fakesnow.copy_into._source_glob

    def source_files(source: str, duck_conn) -> list[str]:
        scheme, _, path = source.partition("://")
        fs = _FILESYSTEMS.get(scheme)
        if fs is None:
            return original(source, duck_conn)
        folder, _, name_prefix = path.rpartition("/")
        # A key prefix, not a folder: @stage/flights matches flights/... and flights_2024.json.
        keys = fs.find(folder, prefix=name_prefix, withdirs=False)
        return [f"{scheme}://{key}" for key in sorted(keys) if not key.endswith("/")]

    fakesnow.copy_into._source_glob = source_files


def _table_types(duck_conn, expr, current_database, current_schema) -> dict[str, str]:
    """column0.. -> DuckDB type of each column of the COPY's target table, for read_csv."""
    table = expr.this if expr.this.__class__.__name__ == "Table" else expr.this.this
    name = ".".join(
        part for part in (table.catalog or current_database, table.db or current_schema, table.name)
    )
    try:
        described = duck_conn.execute(f"DESCRIBE {name}").fetchall()
    except Exception:  # noqa: BLE001 - fakesnow reports a missing table itself
        return {}
    kinds = [("VARCHAR" if kind == "JSON" else kind) for _, kind, *_ in described]
    return {f"column{i}": kind for i, kind in enumerate(kinds)}


def _is_storage_error(exc: Exception) -> bool:
    """Reading the bucket failed (not the file's content). DuckDB raises its bare base Error for
    exceptions from a Python filesystem (s3fs), and IO/HTTP errors for its own."""
    import duckdb

    if type(exc) is duckdb.Error:
        return True
    return isinstance(exc, duckdb.IOException | duckdb.HTTPException) and "parquet" not in str(exc)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    # A Python filesystem's error arrives as a traceback: its cause is the "XError: ..." line.
    cause = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
    if cause:
        return cause[-1]
    return lines[0] if lines else type(exc).__name__


def _load_error(exc: Exception, url: str):
    """A Snowflake-style ProgrammingError for a staged file that cannot be loaded."""
    from snowflake.connector.errors import ProgrammingError

    text = str(exc)
    if _is_storage_error(exc):
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
    opener = _FILESYSTEMS[scheme].open if scheme in _FILESYSTEMS else fsspec.open(url).fs.open
    try:
        with opener(url, "rt") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        json.loads(line)
                    except ValueError:
                        return number
    except OSError:
        return None
    return None


def answer_retried_queries_once(app, remembered: int = 256) -> None:
    """Answer a re-sent query (same requestId) with its first answer, as Snowflake does.

    Snowflake answers a long query within 45 s ("in progress") and the connector polls; fakesnow
    answers only when done, so after its 60 s socket timeout the connector sends the query again.
    fakesnow would refuse it ("connection is busy") or run it twice. Here queries of one session
    run one at a time, and a re-sent one gets the first answer.
    """
    import asyncio
    from collections import OrderedDict

    from starlette.routing import request_response

    route = next(r for r in app.routes if getattr(r, "path", "") == "/queries/v1/query-request")
    original = route.endpoint
    session_locks: dict[str, asyncio.Lock] = {}
    answers: OrderedDict = OrderedDict()

    async def query_request(request):
        request_id = request.query_params.get("requestId")
        if not request_id:
            return await original(request)
        lock = session_locks.setdefault(request.headers.get("Authorization", ""), asyncio.Lock())
        async with lock:
            if (answer := answers.get(request_id)) is None:
                answer = answers[request_id] = await original(request)
                while len(answers) > remembered:
                    answers.popitem(last=False)
            return answer

    route.endpoint = query_request
    route.app = request_response(query_request)


_CREATE_IF_NOT_EXISTS = re.compile(
    r"^\s*create\s+table\s+if\s+not\s+exists\s+(\w+)\.(\w+)\.(\w+)\b", re.IGNORECASE
)


def _keep_load_history_on_create_if_not_exists() -> None:
    """Make CREATE TABLE IF NOT EXISTS of an existing table a no-op, as in Snowflake.

    fakesnow 0.12.1 clears a table's load history on every CREATE TABLE, even when IF NOT EXISTS
    keeps the table, so the next COPY would load every file again. Guarded by
    test/local/test_snowflake_server.py.
    """
    from fakesnow.cursor import FakeSnowflakeCursor

    original = FakeSnowflakeCursor.execute

    def execute(self, command, *args, **kwargs):
        match = _CREATE_IF_NOT_EXISTS.match(command) if isinstance(command, str) else None
        if match:
            database, schema, table = (part.upper() for part in match.groups())
            exists = self._duck_conn.execute(
                "SELECT 1 FROM information_schema.tables "
                "WHERE upper(table_catalog) = ? AND upper(table_schema) = ? "
                "AND upper(table_name) = ?",
                [database, schema, table],
            ).fetchone()
            if exists:
                command = f"SELECT '{table} already exists, statement succeeded.' AS status"
        return original(self, command, *args, **kwargs)

    FakeSnowflakeCursor.execute = execute


def _return_freed_memory_to_the_os(every_seconds: float = 5.0) -> None:
    """Two heap arenas and a periodic malloc_trim: what a query freed goes back to the OS.

    uvicorn serves requests on a thread pool; glibc would give each thread its own arena and keep
    what every query freed (result sets, Arrow buffers) long after the run: ~40 MB idle.
    """
    import ctypes
    import threading

    libc = ctypes.CDLL("libc.so.6")
    m_arena_max = -8  # mallopt parameter number, from malloc.h
    libc.mallopt(m_arena_max, 2)

    def trim() -> None:
        while True:
            time.sleep(every_seconds)
            libc.malloc_trim(0)

    threading.Thread(target=trim, name="malloc-trim", daemon=True).start()
