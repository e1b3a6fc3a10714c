"""fakesnow served over TLS, persistent on disk, with S3 stages read from the moto server."""

from __future__ import annotations

import logging
from pathlib import Path

_installed = False


def install_patches() -> None:
    """Every patch, once per process; copy_errors after the COPY patches, as it wraps their COPY,
    and statement_errors last, as it maps what any of them lets escape."""
    global _installed
    if _installed:
        return
    from local.emulator import (
        copy_errors,
        copy_pattern,
        copy_transform,
        csv_reading,
        json_options,
        load_history,
        recursive_listing,
        skip_file,
        statement_errors,
        temporary_tables,
    )

    load_history.install()
    recursive_listing.install()
    copy_transform.install()
    csv_reading.install()
    json_options.install()
    copy_pattern.install()
    skip_file.install()
    copy_errors.install()
    temporary_tables.install()
    statement_errors.install()
    _installed = True


def serve(
    host: str, port: int, db_dir: Path, s3_endpoint: str, tls_dir: Path, tls_names=()
) -> None:
    import importlib
    import os

    import s3fs
    import uvicorn
    from fakesnow.instance import FakeSnow

    from local.emulator import databases, memory, retried_queries, statement_errors
    from local.emulator.noops import EMULATOR_NOOPS
    from local.emulator.stage_files import FILESYSTEMS
    from local.tls import ensure_certificates

    # `fakesnow.server` the attribute is a function; we need the module of the same name.
    server = importlib.import_module("fakesnow.server")
    _, cert, key = ensure_certificates(tls_dir, tuple(tls_names))
    memory.return_freed_memory_to_the_os()
    db_dir.mkdir(parents=True, exist_ok=True)
    fs = FakeSnow(db_path=str(db_dir), nop_regexes=EMULATOR_NOOPS)
    memory.apply_lean_settings(fs.duck_conn)
    databases.attach_every_database(fs, db_dir)
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
    FILESYSTEMS["s3"] = s3
    server.shared_fs = fs
    install_patches()
    # retried_queries outermost: a re-sent query gets the first answer, SQL error included
    statement_errors.install_route(server.app)
    retried_queries.install(server.app)
    logging.getLogger("fakesnow").setLevel(logging.INFO)
    uvicorn.run(
        server.app,
        host=host,
        port=port,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        log_level="warning",
    )
