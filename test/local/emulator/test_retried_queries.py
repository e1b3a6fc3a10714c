"""Guards local/emulator/retried_queries.py."""

from fakesnow.instance import FakeSnow

from local.emulator import retried_queries


def test_a_resent_query_gets_the_first_answer_and_runs_once(tmp_path):
    import importlib

    from starlette.testclient import TestClient

    server = importlib.import_module("fakesnow.server")
    server.shared_fs = FakeSnow(db_path=str(tmp_path))
    retried_queries.install(server.app)
    client = TestClient(server.app)
    login = client.post(
        "/session/v1/login-request", json={"data": {"SESSION_PARAMETERS": {}}}
    ).json()
    headers = {"Authorization": f'Snowflake Token="{login["data"]["token"]}"'}

    def query(sql: str, request_id: str) -> dict:
        url = f"/queries/v1/query-request?requestId={request_id}"
        return client.post(url, json={"sqlText": sql}, headers=headers).json()

    for statement in ("CREATE DATABASE d", "CREATE SCHEMA d.s", "CREATE TABLE d.s.t (a INT)"):
        query(statement, statement)
    first = query("INSERT INTO d.s.t VALUES (1)", "6a3e4c1e-0000-4000-8000-000000000001")
    again = query("INSERT INTO d.s.t VALUES (1)", "6a3e4c1e-0000-4000-8000-000000000001")
    assert first["success"] and again == first
    count = server.shared_fs.connect().cursor().execute("SELECT COUNT(*) FROM d.s.t").fetchone()
    assert count == (1,)
