"""Guards local/emulator/databases.py: after a restart every database is attached, not only the
login database."""

import pytest
from fakesnow.instance import FakeSnow
from snowflake.connector.errors import ProgrammingError

from local.emulator.databases import attach_every_database


def _restart(db_path) -> FakeSnow:
    return FakeSnow(db_path=str(db_path))


def test_after_a_restart_a_session_reads_every_database(tmp_path):
    first = _restart(tmp_path)
    conn = first.connect()
    for statement in (
        "CREATE DATABASE raw",
        "CREATE SCHEMA raw.s",
        "CREATE TABLE raw.s.t AS SELECT 1 AS a",
        "CREATE DATABASE analytics",
        "CREATE SCHEMA analytics.s",
    ):
        conn.cursor().execute(statement)
    conn.close()
    first.duck_conn.close()

    # fakesnow alone: only the login database (dbt's, analytics) is attached
    alone = _restart(tmp_path)
    with pytest.raises(ProgrammingError, match=r"(?i)raw"):
        alone.connect("analytics", "s").cursor().execute("SELECT a FROM raw.s.t")
    alone.duck_conn.close()

    patched = _restart(tmp_path)
    assert attach_every_database(patched, tmp_path) == ["ANALYTICS", "RAW"]
    cur = patched.connect("analytics", "s").cursor()
    assert cur.execute("SELECT a FROM raw.s.t").fetchall() == [(1,)]
    patched.duck_conn.close()
