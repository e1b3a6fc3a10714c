"""fakesnow served over TLS, persistent on disk, with S3 stages read from the moto server.

These are fakesnow internals (`server.shared_fs`); the version is pinned and
test/local/test_snowflake_server.py guards the behaviour we rely on.
"""

from __future__ import annotations

import logging
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
