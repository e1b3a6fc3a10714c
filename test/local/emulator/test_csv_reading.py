"""Guards local/emulator/csv_reading.py: CSV read strictly with the table's types."""

import pytest
from snowflake.connector.errors import ProgrammingError

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
