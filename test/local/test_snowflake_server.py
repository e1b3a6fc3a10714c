"""Guards for the emulator glue in local/snowflake_server.py (fakesnow internals, pinned)."""

import pytest
from fakesnow.instance import FakeSnow
from snowflake.connector.errors import ProgrammingError

from local import snowflake_server


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    snowflake_server._keep_load_history_on_create_if_not_exists()
    snowflake_server._name_failed_files_in_copy_errors()
    data = tmp_path_factory.mktemp("stage")
    (data / "a.json").write_text('{"a": 1}\n{"a": 2}\n')
    cur = FakeSnow(db_path=str(tmp_path_factory.mktemp("db"))).connect().cursor()
    for statement in (
        "CREATE DATABASE IF NOT EXISTS raw",
        "CREATE SCHEMA IF NOT EXISTS raw.x",
        f"CREATE STAGE IF NOT EXISTS raw.x.st URL = 'file://{data}/'",
    ):
        cur.execute(statement)
    return cur, data


def _copy(cur) -> list[tuple]:
    cur.execute("CREATE TABLE IF NOT EXISTS raw.x.t (src VARIANT)")
    return cur.execute("COPY INTO raw.x.t FROM @raw.x.st FILE_FORMAT = (TYPE = JSON)").fetchall()


def test_create_if_not_exists_keeps_load_history(session):
    cur, _ = session
    assert [row[1] for row in _copy(cur)] == ["LOADED"]
    assert [row[1] for row in _copy(cur)] == ["LOAD_SKIPPED"]
    assert cur.execute("SELECT COUNT(*) FROM raw.x.t").fetchone() == (2,)


def test_copy_parse_error_is_a_sql_error_naming_file_and_line(session):
    cur, data = session
    (data / "b.json").write_text('{"a": 3}\n{"a": oops}\n{"a": 4}\n')
    with pytest.raises(ProgrammingError, match=r'b\.json".*line \d+'):
        _copy(cur)
