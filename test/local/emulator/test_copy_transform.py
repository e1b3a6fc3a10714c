"""Guards local/emulator/copy_transform.py: COPY transformations with $N and METADATA$ columns,
as the pipeline writes them for `lineage: true`."""

import json

import pandas as pd
import pytest
from snowflake.connector.errors import ProgrammingError

LINEAGE = "METADATA$FILENAME, METADATA$FILE_ROW_NUMBER, METADATA$START_SCAN_TIME"
LINEAGE_COLUMNS = "_file_name VARCHAR, _file_row_number NUMBER(38,0), _loaded_at TIMESTAMP_LTZ"


def _stage(cur, tmp_path, name: str, files: dict[str, bytes]) -> None:
    folder = tmp_path / name / "in"
    for file, body in files.items():
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_bytes(body)
    cur.execute(f"CREATE STAGE raw.x.{name} URL = 'file://{tmp_path / name}/'")


def test_csv_fields_and_lineage_land_in_their_columns(session, tmp_path):
    cur, _ = session
    files = {"a.csv": b"n,word\n1,one\n2,two\n", "b.csv": b"n,word\n3,three\n"}
    _stage(cur, tmp_path, "tcsv", files)
    cur.execute(f"CREATE TABLE raw.x.tcsv (word VARCHAR, n INTEGER NOT NULL, {LINEAGE_COLUMNS})")
    cur.execute(
        "COPY INTO raw.x.tcsv (n, word, _file_name, _file_row_number, _loaded_at) "
        f"FROM (SELECT $1, $2, {LINEAGE} FROM @raw.x.tcsv/in/) "
        "FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1)"
    )
    rows = cur.execute(
        "SELECT n, word, _file_name, _file_row_number, _loaded_at IS NOT NULL "
        "FROM raw.x.tcsv ORDER BY n"
    ).fetchall()
    expected = []
    for file, body in files.items():
        for number, line in enumerate(body.decode().splitlines()[1:], start=1):
            n, word = line.split(",")
            expected.append((int(n), word, f"in/{file}", number, True))
    assert rows == sorted(expected)


def test_json_records_and_lineage(session, tmp_path):
    cur, _ = session
    records = [{"k": i, "v": f"v{i}"} for i in range(4)]
    body = "".join(json.dumps(r) + "\n" for r in records).encode()
    _stage(cur, tmp_path, "tjson", {"part.json": body})
    cur.execute(f"CREATE TABLE raw.x.tjson (src VARIANT, {LINEAGE_COLUMNS})")
    cur.execute(
        "COPY INTO raw.x.tjson (src, _file_name, _file_row_number, _loaded_at) "
        f"FROM (SELECT $1, {LINEAGE} FROM @raw.x.tjson/in/) FILE_FORMAT = (TYPE = JSON)"
    )
    rows = cur.execute(
        "SELECT src:k::INT, src:v::VARCHAR, _file_name, _file_row_number "
        "FROM raw.x.tjson ORDER BY 1"
    ).fetchall()
    assert rows == [(r["k"], r["v"], "in/part.json", i + 1) for i, r in enumerate(records)]


def test_parquet_columns_by_name_and_lineage(session, tmp_path):
    cur, _ = session
    frame = pd.DataFrame({"code": ["a", "b", "c"], "size": [1.5, 2.5, 3.5]})
    path = tmp_path / "frame.parquet"
    frame.to_parquet(path, index=False)
    _stage(cur, tmp_path, "tpq", {"f.parquet": path.read_bytes()})
    cur.execute(f"CREATE TABLE raw.x.tpq (code VARCHAR NOT NULL, size FLOAT, {LINEAGE_COLUMNS})")
    cur.execute(
        "COPY INTO raw.x.tpq (code, size, _file_name, _file_row_number, _loaded_at) "
        f"FROM (SELECT $1:code::VARCHAR, $1:size::FLOAT, {LINEAGE} FROM @raw.x.tpq/in/) "
        "FILE_FORMAT = (TYPE = PARQUET)"
    )
    rows = cur.execute(
        "SELECT code, size, _file_name, _file_row_number FROM raw.x.tpq ORDER BY 4"
    ).fetchall()
    assert rows == [
        (code, size, "in/f.parquet", i + 1)
        for i, (code, size) in enumerate(frame.itertuples(index=False))
    ]


def test_a_bad_row_still_names_file_and_line(session, tmp_path):
    cur, _ = session
    _stage(cur, tmp_path, "tbad", {"a.csv": b"n,word\n1,one\nx,two\n"})
    cur.execute(f"CREATE TABLE raw.x.tbad (n INTEGER, word VARCHAR, {LINEAGE_COLUMNS})")
    with pytest.raises(ProgrammingError, match=r"File '.*in/a\.csv', line 3$") as error:
        cur.execute(
            "COPY INTO raw.x.tbad (n, word, _file_name, _file_row_number, _loaded_at) "
            f"FROM (SELECT $1, $2, {LINEAGE} FROM @raw.x.tbad/in/) "
            "FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1)"
        )
    assert error.value.errno == 100038


def test_a_session_without_current_schema_copies_into_a_qualified_table(tmp_path):
    from fakesnow.instance import FakeSnow

    from local.emulator.server import install_patches

    install_patches()
    (tmp_path / "in").mkdir()
    (tmp_path / "db").mkdir()
    (tmp_path / "in" / "a.json").write_text('{"k": 1}\n')
    snow = FakeSnow(db_path=str(tmp_path / "db"))
    admin = snow.connect().cursor()
    for statement in (
        "CREATE DATABASE IF NOT EXISTS raw",
        "CREATE SCHEMA IF NOT EXISTS raw.x",
        f"CREATE STAGE raw.x.st URL = 'file://{tmp_path}/'",
        f"CREATE TABLE raw.x.t (src VARIANT, {LINEAGE_COLUMNS})",
    ):
        admin.execute(statement)
    cur = snow.connect(database="raw").cursor()
    cur.execute(
        "COPY INTO raw.x.t (src, _file_name, _file_row_number, _loaded_at) "
        f"FROM (SELECT $1, {LINEAGE} FROM @raw.x.st/in/) FILE_FORMAT = (TYPE = JSON)"
    )
    assert cur.execute("SELECT _file_name FROM raw.x.t").fetchall() == [("in/a.json",)]
