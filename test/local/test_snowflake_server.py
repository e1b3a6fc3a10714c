"""Guards for the emulator glue in local/snowflake_server.py (fakesnow internals, pinned)."""

import pytest
from fakesnow.instance import FakeSnow
from snowflake.connector.errors import ProgrammingError

from local import snowflake_server


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    snowflake_server._keep_load_history_on_create_if_not_exists()
    snowflake_server._copy_into_as_snowflake_does()
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
    (data / "b.json").write_text('{"a": 3}\n\n{"a": oops}\n{"a": 4}\n')
    bad_line = r"Malformed JSON.*\n  File '.*b\.json', line 3$"
    with pytest.raises(ProgrammingError, match=bad_line) as e:
        _copy(cur)
    assert e.value.errno == 100069
    (data / "b.json").unlink()


CSV = "TYPE = CSV SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '\"' NULL_IF = ('NA', '')"


def _copy_csv(cur, tmp_path, name: str, body: str) -> list[tuple]:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "f.csv").write_text(body)
    cur.execute(f"CREATE STAGE raw.x.{name} URL = 'file://{folder}/'")
    cur.execute(f"CREATE TABLE raw.x.{name} (a INTEGER NOT NULL, b VARCHAR)")
    copy = f"COPY INTO raw.x.{name} FROM @raw.x.{name} FILE_FORMAT = ({CSV})"
    return cur.execute(copy).fetchall()


@pytest.mark.parametrize(
    ("name", "body", "errno", "reason"),
    [
        ("too_many", 'a,b\n1,"x"\n2,y,z\n', 100080, "Expected Number of Columns: 2 Found: 3"),
        ("too_few", "a,b\n1,x\n2\n", 100080, "Expected Number of Columns: 2 Found: 1"),
        ("text", "a,b\n1,x\nseven,y\n", 100038, 'Could not convert string "seven"'),
    ],
)
def test_csv_is_read_strictly_with_the_table_types(session, tmp_path, name, body, errno, reason):
    cur, _ = session
    with pytest.raises(ProgrammingError) as error:
        _copy_csv(cur, tmp_path, name, body)
    assert error.value.errno == errno
    assert reason in error.value.msg
    assert error.value.msg.endswith(f"File '{tmp_path / name}/f.csv', line 3")
    assert cur.execute(f"SELECT COUNT(*) FROM raw.x.{name}").fetchone() == (0,)


@pytest.mark.parametrize(("name", "body"), [("empty", ""), ("header_only", "a,b\n")])
def test_empty_and_header_only_csv_load_zero_rows_as_in_snowflake(session, tmp_path, name, body):
    cur, _ = session
    ((_, status, parsed, loaded, *_),) = _copy_csv(cur, tmp_path, name, body)
    assert (status, parsed, loaded) == ("LOADED", 0, 0)


def test_quoted_fields_and_nulls_still_load(session, tmp_path):
    cur, _ = session
    _copy_csv(cur, tmp_path, "good", 'a,b\n1,"x, y"\n2,NA\n')
    rows = cur.execute("SELECT a, b FROM raw.x.good ORDER BY a").fetchall()
    assert rows == [(1, "x, y"), (2, None)]


def test_missing_required_parquet_column_names_file_and_column(session, tmp_path):
    import pandas as pd

    cur, _ = session
    folder = tmp_path / "pq"
    folder.mkdir()
    pd.DataFrame({"b": ["x"]}).to_parquet(folder / "f.parquet")
    cur.execute(f"CREATE STAGE raw.x.pq URL = 'file://{folder}/'")
    cur.execute("CREATE TABLE raw.x.pq (a INTEGER NOT NULL, b VARCHAR)")
    with pytest.raises(ProgrammingError, match=r"NOT NULL constraint failed: PQ\.A") as error:
        cur.execute(
            "COPY INTO raw.x.pq FROM @raw.x.pq FILE_FORMAT = (TYPE = PARQUET) "
            "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE"
        )
    assert error.value.errno == 100072
    assert f"File '{folder}/f.parquet'" in error.value.msg


def test_unreachable_bucket_is_a_stage_error_not_a_bad_file(tmp_path):
    import s3fs

    fs = FakeSnow(db_path=str(tmp_path))
    # Nothing listens on port 9 (discard) of loopback: connection refused at once.
    fs.duck_conn.register_filesystem(
        s3fs.S3FileSystem(
            key="k",
            secret="s",  # noqa: S106
            endpoint_url="http://127.0.0.1:9",
            use_listings_cache=False,
            config_kwargs={"retries": {"max_attempts": 1}},
        )
    )
    cur = fs.connect().cursor()
    for statement in (
        "CREATE DATABASE IF NOT EXISTS raw",
        "CREATE SCHEMA IF NOT EXISTS raw.x",
        "CREATE STAGE raw.x.s3 URL = 's3://landing/landing/'",
        "CREATE TABLE raw.x.s3 (src VARIANT)",
    ):
        cur.execute(statement)
    with pytest.raises(ProgrammingError, match=r"Failure using stage area.*Could not connect") as e:
        cur.execute("COPY INTO raw.x.s3 FROM @raw.x.s3/flights/ FILE_FORMAT = (TYPE = JSON)")
    assert e.value.errno == 91003


def test_a_resent_query_gets_the_first_answer_and_runs_once(tmp_path):
    import importlib

    from starlette.testclient import TestClient

    server = importlib.import_module("fakesnow.server")
    server.shared_fs = FakeSnow(db_path=str(tmp_path))
    snowflake_server.answer_retried_queries_once(server.app)
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


@pytest.fixture
def s3_session(tmp_path, monkeypatch):
    """fakesnow reading an S3 stage from a real moto server, as the local stack's emulator does."""
    import boto3
    import s3fs
    from moto.server import ThreadedMotoServer

    from local.settings import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    creds = {"aws_access_key_id": "k", "aws_secret_access_key": "s"}  # moto takes any
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **creds)
    s3.create_bucket(Bucket="landing")
    fs = s3fs.S3FileSystem(
        key="k",
        secret="s",
        endpoint_url=endpoint,
        use_listings_cache=False,  # noqa: S106
    )
    snow = FakeSnow(db_path=str(tmp_path))
    snow.duck_conn.register_filesystem(fs)
    monkeypatch.setitem(snowflake_server._FILESYSTEMS, "s3", fs)
    snowflake_server._copy_into_as_snowflake_does()
    snowflake_server._list_stage_paths_recursively()
    cur = snow.connect().cursor()
    for statement in (
        "CREATE DATABASE IF NOT EXISTS raw",
        "CREATE SCHEMA IF NOT EXISTS raw.x",
        "CREATE STAGE raw.x.landing URL = 's3://landing/landing/'",
        "CREATE TABLE raw.x.riots (src VARIANT)",
    ):
        cur.execute(statement)
    yield s3, cur
    server.stop()


def test_a_stage_path_loads_its_sub_folders_as_snowflake_does(s3_session):
    s3, cur = s3_session
    days = {f"landing/riots/2024/05/0{day}/part-0001.json": day for day in (1, 2, 3)}
    for key, day in days.items():
        body = "".join(f'{{"day": {day}, "n": {n}}}\n' for n in range(day * 10))
        s3.put_object(Bucket="landing", Key=key, Body=body.encode())
    s3.put_object(Bucket="landing", Key="landing/riots/2024/", Body=b"")  # a folder marker
    s3.put_object(Bucket="landing", Key="landing/riots_other/x.json", Body=b'{"day": 9}\n')

    result = cur.execute(
        "COPY INTO raw.x.riots FROM @raw.x.landing/riots/ FILE_FORMAT = (TYPE = JSON)"
    ).fetchall()
    loaded = {row[0]: (row[1], row[3]) for row in result}
    assert loaded == {f"s3://landing/{key}": ("LOADED", day * 10) for key, day in days.items()}
    assert cur.execute("SELECT COUNT(*) FROM raw.x.riots").fetchone() == (60,)
    # A key prefix, not only a folder: @stage/riots takes riots_other/ as Snowflake does.
    again = cur.execute(
        "COPY INTO raw.x.riots FROM @raw.x.landing/riots FILE_FORMAT = (TYPE = JSON)"
    ).fetchall()
    assert sorted((row[0], row[1]) for row in again) == sorted(
        [(f"s3://landing/{key}", "LOAD_SKIPPED") for key in days]
        + [("s3://landing/landing/riots_other/x.json", "LOADED")]
    )


def test_the_recursive_listing_still_reports_an_unreachable_bucket_as_a_stage_error(
    s3_session, monkeypatch
):
    import s3fs

    _, cur = s3_session
    down = s3fs.S3FileSystem(
        key="k",
        secret="s",  # noqa: S106
        endpoint_url="http://127.0.0.1:9",
        use_listings_cache=False,
        config_kwargs={"retries": {"max_attempts": 1}},
    )
    monkeypatch.setitem(snowflake_server._FILESYSTEMS, "s3", down)
    with pytest.raises(ProgrammingError, match=r"Failure using stage area") as error:
        cur.execute("COPY INTO raw.x.riots FROM @raw.x.landing/riots/ FILE_FORMAT = (TYPE = JSON)")
    assert error.value.errno == 91003
