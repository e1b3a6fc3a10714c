"""`python -m local add-source`: a sources.yml entry inferred from a sample file, ready to paste.

It reads a CSV, JSON or Parquet sample (compressed CSV and JSON too) and prints the entry for
`airflow/dags/config/sources.yml`, with column names and types inferred as Snowflake's
INFER_SCHEMA does for staged files, in the spelling the sample config uses (INTEGER, FLOAT,
VARCHAR, ...). The entry is validated with the config's own `Source` model before it is printed,
so what is printed always parses; every guess the tool made is said in a YAML comment.

Decisions (the reasons a reviewer should know):

* Types. CSV values are classified as text, the way Snowflake will parse them: integers ->
  INTEGER (NUMBER(38,0), the config's spelling), other numbers -> FLOAT (INFER_SCHEMA says
  NUMBER(p,s) with the sample's own precision and scale; a few thousand rows cannot bound those
  for every later file, and the sample config uses FLOAT for measurements), true/false ->
  BOOLEAN, ISO dates -> DATE, ISO timestamps without an offset -> TIMESTAMP_NTZ, anything else ->
  VARCHAR. Integers with leading zeros (codes such as '02134') stay VARCHAR so the zeros survive;
  timestamps with an offset or Z stay VARCHAR (the config allows no TIMESTAMP_TZ, and
  TIMESTAMP_NTZ would drop the offset; the sample config types weather's `time_hour` so too).
  Parquet types come from the file's schema; BINARY and TIMESTAMP_TZ are not allowed column
  types in the config, so binary columns are VARCHAR and tz-aware timestamps (UTC instants in
  Parquet) TIMESTAMP_NTZ, each with a comment.
* `required`. INFER_SCHEMA reports CSV columns nullable, and the sample config marks only key
  columns required (weather's `origin`, `year`...`hour`, airports' `faa`), not every column that
  happens to be full: a column with no empty value in a sample may have one in the next file, and
  NOT NULL then fails that whole load. So CSV columns are never marked required; a comment lists
  the columns with no empty value in the sample, as candidates. Parquet columns are required
  exactly when the schema declares them non-nullable: that is the writer's guarantee, not a guess.
* Names. Column names become plain lower-case identifiers (the config's identifier rule): runs of
  other characters become `_`, a leading digit gets a `_` prefix, a Snowflake reserved word gets a
  `_` suffix, duplicates get `_2`, `_3`; each change is said in a comment. CSV loads by position,
  so renaming is harmless there; Parquet loads by name (MATCH_BY_COLUMN_NAME, case-insensitive), so
  a renamed Parquet column would load NULL: it is said in a warning and never marked required.
* CSV format options follow the sample config: `skip_header: 1` when a header row is found,
  `field_optionally_enclosed_by: '"'`, and `null_if` with "" (empty fields, quoted or not, load as
  NULL, as the classification assumed) plus the null markers (NA, NULL, \\N...) found in the sample
  where they stand in for missing values of a typed column.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

# _where/_explain are how load_config words a problem (source, key, what is allowed); reusing
# them makes this tool's error the very one the DAG import would show for the pasted entry.
from snowflake_pipeline.config import (
    ConfigError,
    FileFormat,
    FileType,
    Source,
    _explain,
    _where,
    load_config,
    sources_file,
)

SAMPLE_ROWS = 5000  # CSV and JSON rows read (INFER_SCHEMA's own default for CSV is 1000 lines)
SNIFF_BYTES = 64 * 1024
MAX_JSON_VALUE = 64 << 20  # text read for one JSON value before it is called invalid

EXIT_USAGE = 2

COMPRESSIONS = (".gz", ".bz2", ".zst")
TYPES_BY_EXTENSION = {
    ".csv": FileType.csv,
    ".tsv": FileType.csv,
    ".json": FileType.json,
    ".jsonl": FileType.json,
    ".ndjson": FileType.json,
    ".parquet": FileType.parquet,
}
SUPPORTED = (
    ", ".join(TYPES_BY_EXTENSION)
    + f" (csv, tsv and json also compressed: {', '.join(COMPRESSIONS)})"
)

# Markers exports write for a missing value; null_if gets those found standing in for one.
NULL_MARKERS = ("NA", "N/A", "NULL", "null", "\\N", "None")

# Snowflake's reserved keywords: unquoted, they cannot name a column (CREATE TABLE fails).
_RESERVED_WORDS = """
    ACCOUNT ALL ALTER AND ANY AS BETWEEN BY CASE CAST CHECK COLUMN CONNECT CONNECTION
    CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER
    DATABASE DELETE DISTINCT DROP ELSE EXISTS FALSE FOLLOWING FOR FROM FULL GRANT GROUP GSCLUSTER
    HAVING ILIKE IN INCREMENT INNER INSERT INTERSECT INTO IS ISSUE JOIN LATERAL LEFT LIKE
    LOCALTIME LOCALTIMESTAMP MINUS NATURAL NOT NULL OF ON OR ORDER ORGANIZATION QUALIFY REGEXP
    REVOKE RIGHT RLIKE ROW ROWS SAMPLE SCHEMA SELECT SET SOME START TABLE TABLESAMPLE THEN TO
    TRIGGER TRUE TRY_CAST UNION UNIQUE UPDATE USING VALUES VIEW WHEN WHENEVER WHERE WITH"""
RESERVED = frozenset(_RESERVED_WORDS.split())


class AddSourceError(Exception):
    """A problem with the sample file or the arguments, worded for the person running the tool."""


@dataclass
class Inference:
    """The entry, and what to tell the reader about it (printed as YAML comments)."""

    entry: dict[str, Any]
    header: list[str] = field(default_factory=list)  # comment lines above the entry
    notes: list[str] = field(default_factory=list)  # comment lines after `table:`
    column_notes: dict[str, str] = field(default_factory=dict)  # column name -> line comment


# --- file type and reading --------------------------------------------------------------------


def file_type(path: Path) -> tuple[FileType, str | None]:
    """The source type and compression suffix of a sample, from its name."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = suffixes.pop() if suffixes and suffixes[-1] in COMPRESSIONS else None
    kind = TYPES_BY_EXTENSION.get(suffixes[-1]) if suffixes else None
    if kind is None:
        raise AddSourceError(f"{path}: unsupported file type; supported: {SUPPORTED}")
    if kind is FileType.parquet and compression:
        raise AddSourceError(
            f"{path}: a Parquet file is compressed inside (snappy, zstd...); Snowflake does not "
            f"read one compressed again as {compression}: decompress it first"
        )
    return kind, compression


def _open_text(path: Path) -> io.TextIOWrapper:
    """The file as text, decompressed by its suffix (gzip, bz2, zstd), BOM skipped as Snowflake
    does."""
    import pyarrow as pa

    try:
        stream = pa.input_stream(str(path), compression="detect")
    except (OSError, ValueError) as exc:
        raise AddSourceError(f"{path}: cannot open: {exc}") from None
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def _read_text(path: Path, size: int) -> str:
    try:
        with _open_text(path) as text:
            return text.read(size)
    except (OSError, UnicodeDecodeError) as exc:
        raise AddSourceError(f"{path}: cannot read as UTF-8 text: {exc}") from None


# --- values -----------------------------------------------------------------------------------

_INT = re.compile(r"^[+-]?\d{1,38}$")
_LEADING_ZERO = re.compile(r"^[+-]?0\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$", re.I)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(\.\d{1,9})?(Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def classify(value: str) -> str:
    """The kind of one non-null text value: int, int0 (leading zero), float, bool, date, ts (no
    offset), tstz (with offset) or text."""
    if _INT.match(value):
        return "int0" if _LEADING_ZERO.match(value) else "int"
    if _FLOAT.match(value):
        return "float"
    if value.lower() in ("true", "false"):
        return "bool"
    if _DATE.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            return "text"
        return "date"
    match = _TIMESTAMP.match(value)
    if match:
        day, clock, _fraction, offset = match.groups()
        try:
            datetime.fromisoformat(f"{day}T{clock}")
        except ValueError:
            return "text"
        return "tstz" if offset else "ts"
    return "text"


def type_of_kinds(kinds: set[str]) -> tuple[str, str | None]:
    """The Snowflake type for a column whose values have these kinds, and a note if any."""
    if not kinds:
        return "VARCHAR", "no value in the sample: VARCHAR"
    if kinds <= {"bool"}:
        return "BOOLEAN", None
    if kinds <= {"int"}:
        return "INTEGER", None
    if kinds <= {"int", "int0"}:
        return "VARCHAR", "integers with leading zeros: VARCHAR keeps the zeros"
    if kinds <= {"int", "float"}:
        return "FLOAT", None
    if kinds <= {"date"}:
        return "DATE", None
    if kinds <= {"date", "ts"}:
        return "TIMESTAMP_NTZ", None
    if kinds <= {"date", "ts", "tstz"}:
        return "VARCHAR", (
            "timestamps with a UTC offset: VARCHAR keeps them exact (no TIMESTAMP_TZ in the "
            "config; TIMESTAMP_NTZ would drop the offset)"
        )
    return "VARCHAR", None


# --- names ------------------------------------------------------------------------------------


def column_name(raw: str, index: int, taken: set[str]) -> str:
    """A plain lower-case identifier for a column named `raw` (position `index`, 1-based), not
    one of `taken` (lower-case names already used); adds it to `taken`."""
    name = raw.strip().lower()
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        name = re.sub(r"[^a-z0-9_]+", "_", name).strip("_") or f"c{index}"
        if name[0].isdigit():
            name = "_" + name
    if name.upper() in RESERVED:
        name += "_"
    unique, n = name, 1
    while unique in taken:
        n += 1
        unique = f"{name}_{n}"
    taken.add(unique)
    return unique


def _renamed(raw: str, name: str) -> str | None:
    return None if raw == name else f"was {json.dumps(raw)}"


# --- CSV --------------------------------------------------------------------------------------


def _dialect(path: Path, sample: str) -> tuple[str, str]:
    """Delimiter and quote character of a CSV sample (a .tsv file is tab-delimited)."""
    lines = sample.splitlines()[:50]
    text = "\n".join(lines)
    delimiters = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ",;\t|"
    try:
        dialect = csv.Sniffer().sniff(text, delimiters=delimiters)
        return dialect.delimiter, dialect.quotechar or '"'
    except csv.Error:  # one column, or too little text to tell
        return delimiters[0], '"'


def _has_header(first: list[str], body_kinds: list[set[str]], nulls: set[str], sample: str) -> bool:
    """Whether the first row names the columns: a typed column (INTEGER, DATE...) whose first
    value is not of its type says yes, typed columns whose first values are say no; with no typed
    column (or only empty first values in them), csv.Sniffer's guess."""
    typed = [
        (value, kinds)
        for value, kinds in zip(first, body_kinds, strict=True)
        if value not in nulls and type_of_kinds(kinds)[0] != "VARCHAR"
    ]
    if typed:
        return any(classify(value) not in _kinds_alike(kinds) for value, kinds in typed)
    try:
        return csv.Sniffer().has_header(sample)
    except csv.Error:
        return True  # exports nearly always have one; the comment says which row it took


def _kinds_alike(kinds: set[str]) -> set[str]:
    """Kinds a value may have and still belong to a column of these kinds."""
    if kinds <= {"int", "float"}:
        return {"int", "float"}
    if kinds <= {"date", "ts"}:
        return {"date", "ts"}
    return kinds


def _column_kinds(values: list[str], nulls: set[str]) -> set[str]:
    return {classify(v) for v in values if v not in nulls}


def infer_csv(path: Path) -> Inference:
    import pandas as pd

    sample = _read_text(path, SNIFF_BYTES)
    if not sample.strip():
        raise AddSourceError(f"{path}: the file is empty: nothing to infer columns from")
    delimiter, quote = _dialect(path, sample)
    try:
        with _open_text(path) as text:
            frame = pd.read_csv(
                text,
                sep=delimiter,
                quotechar=quote,
                header=None,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                nrows=SAMPLE_ROWS + 2,  # a header, the sample, and one to tell if there is more
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        where = "tab" if delimiter == "\t" else repr(delimiter)
        raise AddSourceError(f"{path}: cannot read as CSV (delimiter {where}): {exc}") from None
    rows = frame.to_numpy().tolist()
    columns = list(zip(*rows, strict=True))
    first = list(rows[0])

    # The markers standing in for a missing value in some typed column are nulls everywhere
    # (null_if applies to every column); "" always is (empty fields, quoted or not).
    body = [list(c[1:]) for c in columns]
    typed = [
        values
        for values in body
        if type_of_kinds(_column_kinds(values, {"", *NULL_MARKERS}))[0] != "VARCHAR"
    ]
    markers = [m for m in NULL_MARKERS if any(m in values for values in typed)]
    nulls = {"", *markers}

    kinds = [_column_kinds(values, nulls) for values in body]
    # One line: take it as the header (there is no data to type).
    header = len(rows) == 1 or _has_header(first, kinds, nulls, sample)
    data = [list(c[1:] if header else c) for c in columns]
    whole = all(len(values) <= SAMPLE_ROWS for values in data)  # pandas reached the end
    data = [values[:SAMPLE_ROWS] for values in data]
    n_rows = len(data[0]) if data else 0

    taken: set[str] = set()
    result_columns = []
    notes: dict[str, str] = {}
    full = []
    for index, values in enumerate(data, start=1):
        raw = str(first[index - 1]) if header else f"c{index}"
        name = column_name(raw, index, taken)
        kind, note = type_of_kinds(_column_kinds(values, nulls))
        result_columns.append({"name": name, "type": kind})
        said = [s for s in (_renamed(raw, name), note) if s]
        if said:
            notes[name] = "; ".join(said)
        if values and all(v not in nulls for v in values):
            full.append(name)

    fmt: dict[str, Any] = {"type": "csv"}
    if header:
        fmt["skip_header"] = 1
    if delimiter != ",":
        fmt["field_delimiter"] = delimiter
    fmt["field_optionally_enclosed_by"] = quote
    fmt["null_if"] = [*markers, ""]

    extent = "the whole file" if whole else f"the first {n_rows}; the file has more"
    said_header = [
        f"{path}: {n_rows} data row(s) sampled ({extent})",
        (
            f"header row found: {', '.join(map(str, first))}"
            if header
            else "no header row: columns named c1..cN as INFER_SCHEMA names them (CSV loads by "
            "position: rename them freely)"
        ),
        "delimiter "
        + ("tab" if delimiter == "\t" else repr(delimiter))
        + "; null_if: empty fields"
        + (f" and {', '.join(markers)} (found for missing values)" if markers else ""),
    ]
    if full:
        said_header.append(
            f"no empty value in the sample: {', '.join(full)}; mark the key columns among them "
            "required: true (NOT NULL: a file without a value then fails its load)"
        )
    if n_rows == 0:
        said_header.append("no data rows: every column is VARCHAR; try a sample with data")
    return Inference(
        entry={"format": fmt, "columns": result_columns},
        header=said_header,
        column_notes=notes,
    )


# --- JSON -------------------------------------------------------------------------------------


def _json_values(path: Path, limit: int) -> tuple[list[Any], bool, bool]:
    """Up to `limit` top-level values of newline-delimited (or concatenated) JSON, or the
    elements of one outer array: (values, whether the file is one array, whether all were read)."""
    decoder = json.JSONDecoder()
    chunk = 1 << 20
    values: list[Any] = []
    try:
        with _open_text(path) as text:
            buffer, eof = "", False

            def fill() -> None:
                nonlocal buffer, eof
                more = text.read(chunk)
                eof = not more
                buffer += more

            def skip(pos: int, extra: str = "") -> int:
                while True:
                    while pos < len(buffer) and (buffer[pos].isspace() or buffer[pos] in extra):
                        pos += 1
                    if pos < len(buffer) or eof:
                        return pos
                    fill()

            fill()
            pos = skip(0)
            is_array = buffer[pos : pos + 1] == "["
            if is_array:
                pos += 1
            while len(values) < limit:
                pos = skip(pos, "," if is_array else "")
                if pos >= len(buffer) or (is_array and buffer[pos] == "]"):
                    break
                try:
                    value, end = decoder.raw_decode(buffer, pos)
                except json.JSONDecodeError as exc:
                    if eof or len(buffer) - pos > MAX_JSON_VALUE:
                        line = buffer.count("\n", 0, exc.pos) + 1
                        raise AddSourceError(
                            f"{path}: not valid JSON at line {line}: {exc.msg}"
                        ) from None
                    fill()
                    continue
                if end == len(buffer) and not eof:  # a number may go on in the next chunk
                    fill()
                    continue
                values.append(value)
                pos = end
            pos = skip(pos, "," if is_array else "")  # reads on to the end or the next value
            complete = pos >= len(buffer) or (is_array and buffer[pos] == "]")
    except (OSError, UnicodeDecodeError) as exc:
        raise AddSourceError(f"{path}: cannot read as UTF-8 JSON: {exc}") from None
    return values, is_array, complete


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float):
        return "FLOAT"
    if isinstance(value, str):  # dates and timestamps are strings in JSON
        return {"date": "DATE", "ts": "TIMESTAMP_NTZ"}.get(classify(value), "VARCHAR")
    if isinstance(value, dict):
        return "OBJECT"
    if isinstance(value, list):
        return "ARRAY"
    return "VARIANT"


def json_key_types(rows: list[Any]) -> dict[str, tuple[str, int]]:
    """Top-level key -> (inferred type, rows where it is null or missing), in first-seen order."""
    kinds: dict[str, set[str]] = {}
    present: Counter[str] = Counter()
    for row in rows:
        if not isinstance(row, dict):
            continue
        for key, value in row.items():
            kinds.setdefault(key, set())
            if value is not None:
                kinds[key].add(_json_kind(value))
                present[key] += 1
    objects = sum(isinstance(row, dict) for row in rows)
    result = {}
    for key, seen in kinds.items():
        if not seen:
            kind = "VARIANT"
        elif len(seen) == 1:
            kind = next(iter(seen))
        elif seen <= {"INTEGER", "FLOAT"}:
            kind = "FLOAT"
        elif seen <= {"DATE", "TIMESTAMP_NTZ"}:
            kind = "TIMESTAMP_NTZ"
        elif seen <= {"DATE", "TIMESTAMP_NTZ", "VARCHAR"}:
            kind = "VARCHAR"
        else:
            kind = "VARIANT"
        result[key] = (kind, objects - present[key])
    return result


def _path_expr(key: str) -> str:
    return (
        f"src:{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"src:{json.dumps(key)}"
    )


def infer_json(path: Path) -> Inference:
    rows, is_array, complete = _json_values(path, SAMPLE_ROWS)
    if not rows:
        raise AddSourceError(f"{path}: no JSON value in the file: nothing to infer")
    fmt: dict[str, Any] = {"type": "json"}
    extent = "the whole file" if complete else f"the first {len(rows)}; the file has more"
    header = [f"{path}: {len(rows)} row(s) sampled ({extent})"]
    if is_array:
        if "strip_outer_array" in FileFormat.model_fields:
            fmt["strip_outer_array"] = True
            header.append("the file is one JSON array: strip_outer_array loads each element")
        else:
            header.append(
                "the file is ONE JSON array: Snowflake loads it as a single row unless the format "
                "has strip_outer_array: true, which this config does not support yet (FileFormat "
                "has no such key); land newline-delimited JSON instead"
            )
    notes = [
        "json loads into one VARIANT column, src (no columns); top-level keys in the sample,",
        "as read downstream (src:key::TYPE):",
    ]
    width = 0
    keys = json_key_types(rows)
    lines = []
    for key, (kind, missing) in keys.items():
        expr = f"{_path_expr(key)}::{kind}"
        width = max(width, len(expr))
        lines.append((expr, missing))
    objects = sum(isinstance(row, dict) for row in rows)
    for expr, missing in lines:
        extra = f"  null or missing in {missing} of {objects} rows" if missing else ""
        notes.append(f"  {expr.ljust(width) if extra else expr}{extra}")
    if objects < len(rows):
        notes.append(f"{len(rows) - objects} row(s) are not objects (src holds them whole)")
    return Inference(entry={"format": fmt}, header=header, notes=notes)


# --- Parquet ----------------------------------------------------------------------------------


def arrow_type(arrow: Any) -> tuple[str, str | None]:
    """The Snowflake column type for an Arrow type, and a note if any."""
    import pyarrow.types as t

    if t.is_dictionary(arrow):
        return arrow_type(arrow.value_type)
    if t.is_boolean(arrow):
        return "BOOLEAN", None
    if t.is_integer(arrow):
        return "INTEGER", None
    if t.is_floating(arrow):
        return "FLOAT", None
    if t.is_decimal(arrow):
        if arrow.precision > 38:
            return "FLOAT", f"decimal({arrow.precision},{arrow.scale}) exceeds NUMBER's 38 digits"
        return f"NUMBER({arrow.precision},{arrow.scale})", None
    if t.is_date(arrow):
        return "DATE", None
    if t.is_timestamp(arrow):
        if arrow.tz:
            return "TIMESTAMP_NTZ", (
                f"UTC instants (tz {arrow.tz}); the config has no TIMESTAMP_TZ: they load as "
                "UTC wall-clock time"
            )
        return "TIMESTAMP_NTZ", None
    if t.is_time(arrow):
        return "TIME", None
    if t.is_string(arrow) or t.is_large_string(arrow) or t.is_string_view(arrow):
        return "VARCHAR", None
    if t.is_binary(arrow) or t.is_large_binary(arrow) or t.is_fixed_size_binary(arrow):
        return "VARCHAR", "binary in the file; the config has no BINARY type: check the loaded text"
    if t.is_nested(arrow):
        return "VARIANT", None
    if t.is_null(arrow):
        return "VARCHAR", "no value in the file (null type): VARCHAR"
    return "VARCHAR", f"Arrow type {arrow} has no direct Snowflake type: VARCHAR"


def infer_parquet(path: Path) -> Inference:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(str(path))
    except (OSError, ValueError) as exc:
        raise AddSourceError(f"{path}: not a readable Parquet file: {exc}") from None
    schema = parquet.schema_arrow
    taken: set[str] = set()
    columns, notes, unmatched = [], {}, []
    for index, arrow_field in enumerate(schema, start=1):
        raw = arrow_field.name
        name = column_name(raw, index, taken)
        kind, note = arrow_type(arrow_field.type)
        matches = name.lower() == raw.lower()
        column: dict[str, Any] = {"name": name, "type": kind}
        if not arrow_field.nullable and matches:
            column["required"] = True
        columns.append(column)
        said = [s for s in (_renamed(raw, name), note) if s]
        if not matches:
            unmatched.append(raw)
            said.append("WARNING: Parquet loads by name, this column will not match: loads NULL")
        if said:
            notes[name] = "; ".join(said)
    header = [
        f"{path}: 0 rows sampled, types from the schema ({parquet.metadata.num_rows} rows in it)",
        "required: true where the schema says not nullable",
    ]
    if unmatched:
        header.append(
            "Parquet columns load by name (MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE): "
            f"{', '.join(map(json.dumps, unmatched))} cannot be plain identifiers, so those "
            "columns load NULL; rename them in the files"
        )
    entry = {"format": {"type": "parquet"}, "columns": columns}
    return Inference(entry=entry, header=header, column_notes=notes)


# --- the entry --------------------------------------------------------------------------------


def _validate(entry: dict[str, Any]) -> None:
    """Raise AddSourceError with load_config's own wording if the entry would not load."""
    try:
        Source.model_validate(entry)
    except ValidationError as exc:
        raw = {"sources": [entry]}
        problems = [
            f"{_where(raw, ('sources', 0, *error['loc']))}: {_explain(error)}"
            for error in exc.errors()
        ]
        prefix = entry.get("prefix")
        if isinstance(prefix, str) and not prefix.endswith("/"):
            problems.append(f"(a prefix is a folder ending in /, e.g. {prefix + '/'!r})")
        raise AddSourceError("invalid entry:\n  - " + "\n  - ".join(problems)) from None


def infer(path: str | Path, name: str, prefix: str) -> Inference:
    """The entry for a sample file and what to say about it; AddSourceError if it cannot be."""
    path = Path(path)
    kind, _compression = file_type(path)
    if not path.is_file():
        raise AddSourceError(f"{path}: no such file")
    inferred = {FileType.csv: infer_csv, FileType.json: infer_json, FileType.parquet: infer_parquet}
    inference = inferred[kind](path)
    inference.entry = {
        "name": name,
        "prefix": prefix,
        "format": inference.entry["format"],
        "table": name,
        **({"columns": inference.entry["columns"]} if "columns" in inference.entry else {}),
    }
    _validate(inference.entry)
    inference.header.extend(_clashes(name))
    return inference


def infer_entry(path: str | Path, name: str, prefix: str) -> dict[str, Any]:
    """The sources.yml entry (a validated dict) for a sample file."""
    return infer(path, name, prefix).entry


def _clashes(name: str) -> list[str]:
    """A note when the DAGs' sources file already has this name or table (names are unique)."""
    try:
        config = load_config(sources_file())
    except ConfigError:  # a broken or missing sources file is not this tool's business
        return []
    found = [s for s in config.sources if name.lower() in (s.name.lower(), s.table.lower())]
    return [
        f"note: {sources_file()} already has source {s.name!r} (table {s.table!r}): names and "
        "tables must be unique, pick another --name or replace that entry"
        for s in found
    ]


# --- YAML -------------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./\-]*$")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and yaml.safe_load(text) == text:
        return text
    if '"' in text and "'" not in text and text.isprintable():
        return f"'{text}'"
    return json.dumps(text)


def _flow(mapping: dict[str, Any]) -> str:
    def item(value: Any) -> str:
        if isinstance(value, list | tuple):
            return "[" + ", ".join(_scalar(v) for v in value) + "]"
        return _scalar(value)

    return "{" + ", ".join(f"{k}: {item(v)}" for k, v in mapping.items()) + "}"


def _comment(text: str) -> str:
    return " ".join(text.splitlines())


def render(inference: Inference) -> str:
    """The entry as YAML in the sample config's style, indented to paste under `sources:`."""
    entry = inference.entry
    # The first line says which file and how many rows were sampled; it is never wrapped.
    lines = [f"  # add-source: {_comment(inference.header[0])}"]
    for line in inference.header[1:]:
        lines += textwrap.wrap(
            _comment(line),
            width=100,
            initial_indent="  # ",
            subsequent_indent="  #   ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    lines.append(f"  - name: {_scalar(entry['name'])}")
    lines.append(f"    prefix: {_scalar(entry['prefix'])}")
    lines.append(f"    format: {_flow(entry['format'])}")
    lines.append(f"    table: {_scalar(entry['table'])}")
    lines += [f"    # {_comment(line)}" for line in inference.notes]
    if "columns" in entry:
        lines.append("    columns:")
        flows = [_flow(column) for column in entry["columns"]]
        width = max(map(len, flows))
        for column, flow in zip(entry["columns"], flows, strict=True):
            note = inference.column_notes.get(column["name"])
            lines.append(
                f"      - {flow.ljust(width)}  # {_comment(note)}" if note else f"      - {flow}"
            )
    text = "\n".join(lines) + "\n"
    parsed = yaml.safe_load(text)
    if parsed != [entry]:  # a rendering bug: never print YAML that does not mean the entry
        raise RuntimeError(f"rendered YAML does not parse back to the entry:\n{text}")
    return text


def main(file: str | Path, name: str, prefix: str | None = None) -> int:
    """Print the entry for `file`; on a problem print it (no traceback) and return 2."""
    try:
        print(render(infer(file, name, prefix if prefix is not None else f"{name}/")), end="")
    except AddSourceError as exc:
        print(f"add-source: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0
