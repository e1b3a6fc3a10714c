"""Every database of the emulator's folder is attached when it starts, as in Snowflake.

fakesnow keeps each database in a file of its own (<db_path>/<NAME>.db) and attaches a file only
when a statement creates that database or a session logs in to it: after a restart, a session of
the login database `analytics` (dbt's) cannot read `raw.nycflights.flights` until someone runs
CREATE DATABASE raw again.
"""

from __future__ import annotations

from pathlib import Path

from local.emulator.fakesnow_internals import internal


def database_files(db_path: Path) -> list[Path]:
    return sorted(p for p in Path(db_path).glob("*.db") if p.is_file())


def attach_every_database(fs, db_path: Path) -> list[str]:
    """Attach each database file of `db_path` to the FakeSnow `fs`; return their names.

    A session that logs in to a database attaches it with fakesnow's own information schema and
    macros, so this logs in to each once."""
    internal("fakesnow.fakes", "FakeSnowflakeConnection", "databases")
    names = [path.stem for path in database_files(db_path)]
    for name in names:
        fs.connect(database=name).close()
    return names
