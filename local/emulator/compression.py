"""Snowflake's COMPRESSION values as DuckDB reads them, for CSV and JSON alike."""

from __future__ import annotations

from local.emulator.copy_errors import unsupported

# None: by the file's extension (.gz, .zst), as Snowflake's AUTO.
_DUCKDB = {"AUTO": None, "AUTO_DETECT": None, "GZIP": "gzip", "ZSTD": "zstd", "NONE": "none"}


def duckdb_compression(value: object) -> str | None:
    """DuckDB's compression setting for a Snowflake COMPRESSION value, or `unsupported`."""
    name = str(value).upper()
    if name not in _DUCKDB:
        raise unsupported(f"COMPRESSION = {name}", "DuckDB reads gzip and zstd only")
    return _DUCKDB[name]
