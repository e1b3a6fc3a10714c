"""Guards local/emulator/json_options.py: STRIP_OUTER_ARRAY and COMPRESSION for JSON."""

import gzip
import json

import pytest
from snowflake.connector.errors import ProgrammingError

from test.compressed import zstd

RECORDS = [{"a": i, "b": f"x{i}"} for i in range(5)]


def _load(cur, tmp_path, name: str, files: dict[str, bytes], options: str) -> list[tuple]:
    folder = tmp_path / name
    folder.mkdir()
    for file, body in files.items():
        (folder / file).write_bytes(body)
    cur.execute(f"CREATE STAGE raw.x.{name} URL = 'file://{folder}/'")
    cur.execute(f"CREATE TABLE raw.x.{name} (src VARIANT)")
    cur.execute(f"COPY INTO raw.x.{name} FROM @raw.x.{name} FILE_FORMAT = (TYPE = JSON {options})")
    return cur.execute(f"SELECT src:a::INT, src:b::VARCHAR FROM raw.x.{name} ORDER BY 1").fetchall()


def _expected(records=RECORDS) -> list[tuple]:
    return [(r["a"], r["b"]) for r in records]


def test_strip_outer_array_loads_one_row_per_element(session, tmp_path):
    cur, _ = session
    body = json.dumps(RECORDS, indent=2).encode()  # one array over many lines
    assert _load(cur, tmp_path, "arr", {"f.json": body}, "STRIP_OUTER_ARRAY = TRUE") == _expected()


def test_gzip_and_zstd_files_load_by_extension_and_by_option(session, tmp_path):
    cur, _ = session
    lines = "".join(json.dumps(r) + "\n" for r in RECORDS).encode()
    first, rest = lines.split(b"\n", 1)
    files = {"a.json.gz": gzip.compress(first + b"\n"), "b.json.zst": zstd(rest)}
    assert _load(cur, tmp_path, "auto_comp", files, "") == _expected()
    named = {"c.data": gzip.compress(lines)}
    assert _load(cur, tmp_path, "gz_opt", named, "COMPRESSION = GZIP") == _expected()


@pytest.mark.parametrize(
    ("options", "named"),
    [("COMPRESSION = BZ2", "COMPRESSION = BZ2"), ("DATE_FORMAT = 'YYYY'", "DATE_FORMAT")],
)
def test_an_option_duckdb_cannot_honour_is_refused_by_name(session, tmp_path, options, named):
    cur, _ = session
    with pytest.raises(ProgrammingError, match="cannot honour") as error:
        _load(cur, tmp_path, f"refused_{len(options)}", {"f.json": b'{"a": 1}\n'}, options)
    assert named in error.value.msg
    assert error.value.errno == 1008
