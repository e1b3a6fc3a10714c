"""Guards local/emulator/statement_errors.py: what fakesnow leaves unmapped fails as a SQL error at
once (the connector retries an HTTP 500 for ten minutes or more)."""

import importlib

import pytest
from fakesnow.instance import FakeSnow
from snowflake.connector.errors import ProgrammingError

from local.emulator import statement_errors
from local.emulator.server import install_patches


def test_a_duckdb_error_fakesnow_leaves_unmapped_is_a_sql_error_with_its_message(session):
    cur, _ = session
    # Snowflake refuses the pattern too; DuckDB raises Invalid Input, which fakesnow does not map.
    with pytest.raises(ProgrammingError, match=r"Invalid Input Error: missing \)") as error:
        cur.execute("SELECT REGEXP_LIKE('a', '(')")
    assert (error.value.errno, error.value.sqlstate) == (603, "XX000")


def test_null_into_a_not_null_column_is_snowflakes_error(session):
    cur, _ = session
    cur.execute("CREATE OR REPLACE TABLE raw.x.required (a INTEGER NOT NULL)")
    with pytest.raises(ProgrammingError, match="NOT NULL constraint") as error:
        cur.execute("INSERT INTO raw.x.required (a) SELECT NULL")
    assert error.value.errno == statement_errors.NOT_NULL_ERRNO


@pytest.fixture
def server(tmp_path):
    """fakesnow's ASGI app with the patches, and a logged-in session's query function."""
    from starlette.testclient import TestClient

    install_patches()
    module = importlib.import_module("fakesnow.server")
    module.shared_fs = FakeSnow(db_path=str(tmp_path))
    statement_errors.install_route(module.app)
    client = TestClient(module.app, raise_server_exceptions=False)
    login = client.post(
        "/session/v1/login-request", json={"data": {"SESSION_PARAMETERS": {}}}
    ).json()
    headers = {"Authorization": f'Snowflake Token="{login["data"]["token"]}"'}

    def query(sql: str):
        return client.post(statement_errors.QUERY_ROUTE, json={"sqlText": sql}, headers=headers)

    return module, query


def test_a_statement_sqlglot_cannot_parse_is_a_syntax_error_not_a_500(server):
    _, query = server
    answer = query("SELECT FROM WHERE )(")
    assert answer.status_code == 200
    assert (answer.json()["success"], answer.json()["code"]) == (False, "001003")


def test_anything_else_that_escapes_is_a_sql_error_not_a_500(server, monkeypatch):
    module, query = server

    def broken(*_args, **_kwargs):
        raise RuntimeError("a fakesnow bug")

    monkeypatch.setattr(module, "describe_as_rowtype", broken)
    answer = query("SELECT 1")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["success"], body["code"]) == (False, "000603")
    assert "local emulator failed on this statement" in body["message"]
