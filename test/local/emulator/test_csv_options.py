"""Guards local/emulator/csv_reading.py's FILE_FORMAT options: dates, escape, encoding, zstd."""

import datetime

import pytest
from snowflake.connector.errors import ProgrammingError

from local.emulator.csv_reading import strptime_format
from test.compressed import zstd


def _load(cur, tmp_path, name, file, body: bytes, columns: str, options: str) -> list[tuple]:
    folder = tmp_path / name
    folder.mkdir()
    (folder / file).write_bytes(body)
    cur.execute(f"CREATE STAGE raw.x.{name} URL = 'file://{folder}/'")
    cur.execute(f"CREATE TABLE raw.x.{name} ({columns})")
    cur.execute(
        f"COPY INTO raw.x.{name} FROM @raw.x.{name} "
        f"FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1 {options})"
    )
    return cur.execute(f"SELECT * FROM raw.x.{name} ORDER BY 1").fetchall()


@pytest.mark.parametrize(
    ("snowflake", "strptime"),
    [
        ("YYYY/MM/DD", "%Y/%m/%d"),
        ("DD-MON-YYYY", "%d-%b-%Y"),
        ("YYYY-MM-DD HH24:MI:SS.FF3", "%Y-%m-%d %H:%M:%S.%g"),
        ('YYYY-MM-DD"T"HH24:MI:SS', "%Y-%m-%dT%H:%M:%S"),
        ("AUTO", None),
    ],
)
def test_snowflake_format_elements_translate_to_strptime(snowflake, strptime):
    assert strptime_format("DATE_FORMAT", snowflake) == strptime


def test_date_and_timestamp_formats_parse_the_columns(session, tmp_path):
    cur, _ = session
    body = b"id,day,seen\n1,2024/05/01,01.05.2024 13:45\n2,2024/12/31,31.12.2024 00:00\n"
    rows = _load(
        cur,
        tmp_path,
        "dates",
        "f.csv",
        body,
        "id INTEGER, day DATE, seen TIMESTAMP_NTZ",
        "DATE_FORMAT = 'YYYY/MM/DD' TIMESTAMP_FORMAT = 'DD.MM.YYYY HH24:MI'",
    )
    assert rows == [
        (1, datetime.date(2024, 5, 1), datetime.datetime(2024, 5, 1, 13, 45)),
        (2, datetime.date(2024, 12, 31), datetime.datetime(2024, 12, 31, 0, 0)),
    ]


def test_a_date_in_another_format_fails_with_its_line(session, tmp_path):
    cur, _ = session
    with pytest.raises(ProgrammingError, match=r"line 3$") as error:
        _load(
            cur,
            tmp_path,
            "baddate",
            "f.csv",
            b"id,day\n1,2024/05/01\n2,2024-05-02\n",
            "id INTEGER, day DATE",
            "DATE_FORMAT = 'YYYY/MM/DD'",
        )
    assert error.value.errno // 1000 == 100


def test_escape_and_latin1_encoding(session, tmp_path):
    cur, _ = session
    body = 'id,name\n1,"Caf\xe9 \\"Le Nord\\""\n'.encode("latin-1")
    rows = _load(
        cur,
        tmp_path,
        "latin",
        "f.csv",
        body,
        "id INTEGER, name VARCHAR",
        "FIELD_OPTIONALLY_ENCLOSED_BY = '\"' ESCAPE = '\\\\' ENCODING = 'ISO-8859-1' "
        "NULL_IF = ('')",
    )
    assert rows == [(1, 'Café "Le Nord"')]


def test_escape_beside_the_default_null_if_is_refused_with_the_fix(session, tmp_path):
    cur, _ = session
    with pytest.raises(ProgrammingError, match="give null_if explicitly") as error:
        _load(cur, tmp_path, "esc", "f.csv", b"a\n1\n", "a INTEGER", "ESCAPE = '\\\\'")
    assert error.value.errno == 1008


def test_zstd_csv_loads(session, tmp_path):
    cur, _ = session
    rows = _load(
        cur,
        tmp_path,
        "zst",
        "f.csv.zst",
        zstd(b"id,v\n1,a\n2,b\n"),
        "id INTEGER, v VARCHAR",
        "COMPRESSION = ZSTD",
    )
    assert rows == [(1, "a"), (2, "b")]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ("COMPRESSION = BZ2", "COMPRESSION = BZ2"),
        ("ENCODING = 'SHIFT_JIS'", "ENCODING = 'SHIFT_JIS'"),
        ("DATE_FORMAT = 'YYYY/WW'", "DATE_FORMAT = 'YYYY/WW'"),
    ],
)
def test_an_option_duckdb_cannot_honour_is_refused_by_name(session, tmp_path, options, named):
    cur, _ = session
    with pytest.raises(ProgrammingError, match="cannot honour") as error:
        _load(cur, tmp_path, f"no{abs(hash(options))}", "f.csv", b"a\n1\n", "a INTEGER", options)
    assert named in error.value.msg
    assert error.value.errno == 1008
