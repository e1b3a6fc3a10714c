"""Guards local/emulator/copy_errors.py: COPY errors in Snowflake's words and codes."""

import pytest
from fakesnow.instance import FakeSnow
from snowflake.connector.errors import ProgrammingError

from local.emulator.stage_files import FILESYSTEMS

from .test_load_history import _copy


def test_copy_parse_error_is_a_sql_error_naming_file_and_line(session):
    cur, data = session
    (data / "b.json").write_text('{"a": 3}\n\n{"a": oops}\n{"a": 4}\n')
    bad_line = r"Malformed JSON.*\n  File '.*b\.json', line 3$"
    with pytest.raises(ProgrammingError, match=bad_line) as e:
        _copy(cur)
    assert e.value.errno == 100069
    (data / "b.json").unlink()


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
    monkeypatch.setitem(FILESYSTEMS, "s3", down)
    with pytest.raises(ProgrammingError, match=r"Failure using stage area") as error:
        cur.execute("COPY INTO raw.x.riots FROM @raw.x.landing/riots/ FILE_FORMAT = (TYPE = JSON)")
    assert error.value.errno == 91003


@pytest.mark.parametrize(
    ("file", "body", "options"),
    [
        ("f.csv.gz", b"a\n1\n", ""),  # named .gz, not gzip
        ("f.csv", b"a\n1\n", "COMPRESSION = ZSTD"),  # said zstd, is not
    ],
)
def test_a_file_that_cannot_be_decompressed_is_a_bad_file_not_a_stage_error(
    session, tmp_path, file, body, options
):
    cur, _ = session
    name = f"undecodable_{len(options)}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / file).write_bytes(body)
    cur.execute(f"CREATE STAGE raw.x.{name} URL = 'file://{folder}/'")
    cur.execute(f"CREATE TABLE raw.x.{name} (a INTEGER)")
    with pytest.raises(ProgrammingError) as error:
        cur.execute(
            f"COPY INTO raw.x.{name} FROM @raw.x.{name} "
            f"FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1 {options})"
        )
    assert error.value.errno // 1000 == 100, error.value.msg
    assert f"File '{folder}/{file}'" in error.value.msg
