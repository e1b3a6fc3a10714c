"""CSV read as Snowflake reads it: strictly, with the target table's column types, and with the
FILE_FORMAT options fakesnow does not translate (DATE_FORMAT, TIMESTAMP_FORMAT, ESCAPE,
ENCODING, COMPRESSION = ZSTD).

fakesnow reads CSV with DuckDB's sniffer, so a row with too many columns, a header-only file or
an empty file fails with a confusing binder error; here the row is refused with its line. An
option DuckDB cannot honour is refused with its name (copy_errors.Unsupported), never ignored.
"""

from __future__ import annotations

import contextvars
import re

from local.emulator.compression import duckdb_compression
from local.emulator.copy_errors import unsupported
from local.emulator.fakesnow_internals import internal, replace

_csv_columns: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("csv_columns")

# Snowflake's ENCODING names -> DuckDB's built-in encodings.
ENCODINGS = {"UTF8": None, "UTF-8": None, "ISO-8859-1": "latin-1", "LATIN1": "latin-1"}
ENCODINGS |= {"UTF16": "utf-16", "UTF-16": "utf-16"}
# Snowflake date/time format elements -> strptime, longest first.
_FORMAT_ELEMENTS = (
    ("YYYY", "%Y"),
    ("HH24", "%H"),
    ("HH12", "%I"),
    ("MMMM", "%B"),
    ("FF9", "%n"),
    ("FF6", "%f"),
    ("FF3", "%g"),
    ("MON", "%b"),
    ("TZH:TZM", "%z"),
    ("YY", "%y"),
    ("MM", "%m"),
    ("DD", "%d"),
    ("DY", "%a"),
    ("MI", "%M"),
    ("SS", "%S"),
    ("AM", "%p"),
    ("PM", "%p"),
    ("FF", "%f"),
)
_LITERAL = re.compile(r'[-/:., T]|"[^"]*"')


def strptime_format(option: str, snowflake_format: str) -> str | None:
    """DuckDB's strptime format for a Snowflake DATE_FORMAT/TIMESTAMP_FORMAT (None for AUTO)."""
    text = snowflake_format.strip()
    if text.upper() == "AUTO":
        return None
    out, i = [], 0
    while i < len(text):
        element = next((e for e in _FORMAT_ELEMENTS if text.upper().startswith(e[0], i)), None)
        if element:
            out.append(element[1])
            i += len(element[0])
        elif literal := _LITERAL.match(text, i):
            out.append(literal.group(0).strip('"').replace("%", "%%"))
            i = literal.end()
        else:
            raise unsupported(
                f"{option} = '{snowflake_format}'", f"no translation for {text[i:]!r}"
            )
    return "".join(out)


def _csv_options(options: dict) -> dict:
    """Pop the options fakesnow refuses; return them as DuckDB read_csv settings."""
    duck = {}
    if "COMPRESSION" in options:
        duck["compression"] = duckdb_compression(options.pop("COMPRESSION"))
    for option, setting in (("DATE_FORMAT", "dateformat"), ("TIMESTAMP_FORMAT", "timestampformat")):
        if option in options:
            duck[setting] = strptime_format(option, str(options.pop(option)))
    if "ESCAPE" in options:
        value = str(options.pop("ESCAPE"))
        duck["escape"] = None if value.upper() == "NONE" else value
    if "ENCODING" in options:
        value = str(options.pop("ENCODING"))
        if value.upper() not in ENCODINGS:
            raise unsupported(f"ENCODING = '{value}'", f"DuckDB reads {', '.join(ENCODINGS)}")
        duck["encoding"] = ENCODINGS[value.upper()]
    return {name: value for name, value in duck.items() if value is not None}


def install() -> None:
    import sqlglot

    read_csv = internal("fakesnow.copy_into", "ReadCSV", "csv_reading")
    original_expression = read_csv.read_expression

    def handle_csv(options):
        fakesnow_options = dict(options)
        extra = _csv_options(fakesnow_options)  # takes out what fakesnow would refuse
        reader = original_handle(fakesnow_options)
        reader.duckdb_options = extra
        return reader

    def read_csv_strictly(self, url):
        extra = dict(getattr(self, "duckdb_options", {}))
        if "compression" in extra:
            self.compression = extra.pop("compression")
        expression = original_expression(self, url)
        columns = _csv_columns.get({})
        if not columns:
            return expression
        quote = self.quote or ""
        escape = extra.pop("escape", quote)
        if escape and escape != quote and any(escape in null for null in self.null_if or ()):
            raise unsupported(
                f"ESCAPE = '{escape}' with NULL_IF {self.null_if}",
                "DuckDB refuses the escape character inside a NULL string; give null_if "
                "explicitly, without it",
            )
        options = [("auto_detect", False), ("delim", self.sep), ("escape", escape)]
        if self.quote is None:
            options.append(("quote", quote))
        for name, value in [*options, *extra.items(), ("strict_mode", True)]:
            expression.append("expressions", self.make_eq(name, value))
        struct = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
        expression.append("expressions", sqlglot.parse_one(f"columns = {{{struct}}}"))
        return expression

    def copy_into(duck_conn, current_database, current_schema, expr, *args, **kwargs):
        token = _csv_columns.set(_table_types(duck_conn, expr, current_database, current_schema))
        try:
            return original_copy(duck_conn, current_database, current_schema, expr, *args, **kwargs)
        finally:
            _csv_columns.reset(token)

    original_handle = replace("fakesnow.copy_into", "handle_csv", "csv_reading", handle_csv)
    read_csv.read_expression = read_csv_strictly
    original_copy = replace("fakesnow.cursor", "copy_into", "csv_reading", copy_into)


def _table_types(duck_conn, expr, current_database, current_schema) -> dict[str, str]:
    """column0.. -> DuckDB type of each field of the file, for read_csv: the target table's
    columns in order, or, for a COPY transformation, the column each `$N` goes to."""
    from sqlglot import exp

    from local.emulator.copy_transform import file_fields

    table = expr.this if isinstance(expr.this, exp.Table) else expr.this.this
    name = ".".join(
        part for part in (table.catalog or current_database, table.db or current_schema, table.name)
    )
    try:
        described = duck_conn.execute(f"DESCRIBE {name}").fetchall()
    except Exception:  # noqa: BLE001 - fakesnow reports a missing table itself
        return {}
    kinds = [("VARCHAR" if kind == "JSON" else kind) for _, kind, *_ in described]
    source = expr.args["files"][0]
    if not isinstance(source, exp.Subquery):
        return {f"column{i}": kind for i, kind in enumerate(kinds)}
    by_name = {column.upper(): kind for (column, *_), kind in zip(described, kinds, strict=True)}
    targets = [column.name.upper() for column in expr.this.expressions]
    fields = file_fields(source.this)
    return {
        f"column{n - 1}": by_name.get(targets[fields[n]], "VARCHAR") if n in fields else "VARCHAR"
        for n in range(1, max(fields, default=0) + 1)
    }
