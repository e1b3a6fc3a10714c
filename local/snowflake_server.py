"""fakesnow served over TLS, persistent on disk, with S3 stages read from the moto server.

These are fakesnow internals (`server.shared_fs`); the version is pinned and
test/local/test_snowflake_server.py guards the behaviour we rely on.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

# Statements a real account needs but the emulator cannot parse. They become no-ops here only;
# sql/ keeps real Snowflake SQL.
EMULATOR_NOOPS = [
    r"\s*create\s+(or\s+replace\s+)?warehouse\b",
    r"\s*alter\s+warehouse\b",
    r"\s*create\s+(or\s+replace\s+)?role\b",
    r"\s*grant\b",
    r"\s*use\s+(secondary\s+)?(warehouse|role)\b",
    r"\s*create\s+(or\s+replace\s+)?storage\s+integration\b",
    r"\s*create\s+(or\s+replace\s+)?(storage\s+)?integration\b",
]


MEMORY_LIMIT = "512MB"


def serve(host: str, port: int, db_dir: Path, s3_endpoint: str, tls_dir: Path) -> None:
    import importlib

    import s3fs
    import uvicorn
    from fakesnow.instance import FakeSnow

    # `fakesnow.server` the attribute is a function; we need the module of the same name.
    server = importlib.import_module("fakesnow.server")

    from local.tls import ensure_certificates

    _, cert, key = ensure_certificates(tls_dir)
    db_dir.mkdir(parents=True, exist_ok=True)
    fs = FakeSnow(db_path=str(db_dir), nop_regexes=EMULATOR_NOOPS)
    # Keep the emulator small beside Airflow: DuckDB would otherwise cache up to 80% of RAM.
    fs.duck_conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    # moto accepts any credentials; listings cache off so files landed later are seen.
    s3 = s3fs.S3FileSystem(
        key="local",
        secret="local",  # noqa: S106 - moto accepts any credentials
        endpoint_url=s3_endpoint,
        use_listings_cache=False,
    )
    fs.duck_conn.register_filesystem(s3)
    server.shared_fs = fs
    _name_failed_files_in_copy_errors()
    _keep_load_history_on_create_if_not_exists()
    logging.getLogger("fakesnow").setLevel(logging.INFO)
    uvicorn.run(
        server.app,
        host=host,
        port=port,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        log_level="warning",
    )


def _name_failed_files_in_copy_errors() -> None:
    """Report COPY parse errors as Snowflake does (a SQL error naming the file and line).

    fakesnow lets DuckDB's parse errors escape as HTTP 500, which the connector retries for
    minutes and which hides the message; real Snowflake answers with a ProgrammingError.
    """
    import duckdb
    import fakesnow.cursor
    from snowflake.connector.errors import ProgrammingError

    original = fakesnow.cursor.copy_into

    def copy_into(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except duckdb.Error as exc:
            raise ProgrammingError(msg=str(exc), errno=100069, sqlstate="22000") from None

    fakesnow.cursor.copy_into = copy_into


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
