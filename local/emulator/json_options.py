"""JSON FILE_FORMAT options: STRIP_OUTER_ARRAY and COMPRESSION.

fakesnow reads every JSON file as newline-delimited and ignores the options, so a file that is
one array of records would load as one row. Here an array file loads one row per element with
STRIP_OUTER_ARRAY = TRUE (DuckDB's format='array'), and COMPRESSION is honoured (gzip, zstd,
none; AUTO by extension). Any other JSON option is refused by name, never ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from local.emulator.compression import duckdb_compression
from local.emulator.copy_errors import unsupported
from local.emulator.fakesnow_internals import internal, replace

HONOURED = {"TYPE", "STRIP_OUTER_ARRAY", "COMPRESSION"}


def _json_options(expr, parse_options) -> dict:
    for param in expr.args.get("params") or []:
        if getattr(param.this, "name", "").upper() == "FILE_FORMAT":
            return {str(k).upper(): v for k, v in parse_options(param.expressions).items()}
    return {}


def install() -> None:
    read_json = internal("fakesnow.copy_into", "ReadJSON", "json_options")
    parse_options = internal("fakesnow.copy_into", "parse_options", "json_options")

    @dataclass
    class ReadJSONWithOptions(read_json):
        strip_outer_array: bool = False
        compression: str | None = None

        def read_expression(self, url):
            expression = super().read_expression(url)
            if self.strip_outer_array:
                expression.append("expressions", self.make_eq("format", "array"))
            if self.compression:
                expression.append("expressions", self.make_eq("compression", self.compression))
            return expression

    def params(expr, *args, **kwargs):
        copy_params = original(expr, *args, **kwargs)
        if type(copy_params.file_format) is not read_json:
            return copy_params
        options = _json_options(expr, parse_options)
        if unknown := sorted(set(options) - HONOURED):
            raise unsupported(f"JSON FILE_FORMAT option {unknown[0]}", "not translated to DuckDB")
        compression = duckdb_compression(options.get("COMPRESSION", "AUTO"))
        strip = str(options.get("STRIP_OUTER_ARRAY", "FALSE")).upper() in ("TRUE", "1")
        copy_params.file_format = ReadJSONWithOptions(strip, compression)
        return copy_params

    original = replace("fakesnow.copy_into", "_params", "json_options", params)
