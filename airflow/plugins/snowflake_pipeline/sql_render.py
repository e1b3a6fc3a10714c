"""Render the raw layer's SQL from validated config.

Every name here passed the identifier checks in config.py, so plain string formatting is safe.
The statements are real Snowflake SQL; the local emulator runs the very same text.
"""

from __future__ import annotations

from snowflake_pipeline.config import Compression, FileFormat, FileType, PipelineConfig, Source

JSON_COLUMN = "src"


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_create_table(config: PipelineConfig, source: Source) -> str:
    if source.format.type is FileType.json:
        columns = f"{JSON_COLUMN} VARIANT"
    else:
        columns = ", ".join(
            f"{c.name} {c.type}{' NOT NULL' if c.required else ''}" for c in source.columns
        )
    return f"CREATE TABLE IF NOT EXISTS {config.table_of(source)} ({columns})"


def render_file_format(fmt: FileFormat) -> str:
    options = [f"TYPE = {fmt.type.value.upper()}"]
    if fmt.compression is not Compression.auto:
        options.append(f"COMPRESSION = {fmt.compression.value.upper()}")
    if fmt.type is FileType.json and fmt.strip_outer_array:
        options.append("STRIP_OUTER_ARRAY = TRUE")
    if fmt.type is FileType.csv:
        options.append(f"SKIP_HEADER = {fmt.skip_header}")
        if fmt.field_delimiter != ",":
            options.append(f"FIELD_DELIMITER = {_quote(fmt.field_delimiter)}")
        if fmt.field_optionally_enclosed_by:
            options.append(
                f"FIELD_OPTIONALLY_ENCLOSED_BY = {_quote(fmt.field_optionally_enclosed_by)}"
            )
        if fmt.null_if:
            options.append(f"NULL_IF = ({', '.join(_quote(v) for v in fmt.null_if)})")
        for name in ("date_format", "timestamp_format", "escape", "encoding"):
            if (value := getattr(fmt, name)) is not None:
                options.append(f"{name.upper()} = {_quote(value)}")
    return f"({' '.join(options)})"


def render_copy_into(config: PipelineConfig, source: Source) -> str:
    """COPY INTO is idempotent through Snowflake's load metadata: loaded files are skipped."""
    lines = [
        f"COPY INTO {config.table_of(source)}",
        f"FROM @{config.stage}/{source.prefix}",
        f"FILE_FORMAT = {render_file_format(source.format)}",
    ]
    if source.pattern:
        lines.append(f"PATTERN = {_quote(source.pattern)}")
    if source.format.type is FileType.parquet:
        lines.append("MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE")
    # One bad file aborts the whole statement, so a failed load leaves nothing half-loaded.
    lines.append("ON_ERROR = ABORT_STATEMENT")
    return "\n".join(lines)
