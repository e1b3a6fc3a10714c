"""Render the raw layer's SQL from validated config.

Every name here passed the identifier checks in config.py, so plain string formatting is safe.
The statements are real Snowflake SQL; the local emulator runs the very same text.
"""

from __future__ import annotations

from snowflake_pipeline.config import (
    Compression,
    FileFormat,
    FileType,
    OnError,
    PipelineConfig,
    Source,
)

JSON_COLUMN = "src"


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# `lineage: true`: where each row came from, filled by COPY itself from the file's metadata.
LINEAGE_COLUMNS = (
    ("_file_name", "VARCHAR", "METADATA$FILENAME"),
    ("_file_row_number", "NUMBER(38,0)", "METADATA$FILE_ROW_NUMBER"),
    ("_loaded_at", "TIMESTAMP_LTZ", "METADATA$START_SCAN_TIME"),
)


def _data_columns(source: Source) -> list[tuple[str, str]]:
    """(name, type declaration) of the columns the files fill."""
    if source.format.type is FileType.json:
        return [(JSON_COLUMN, "VARIANT")]
    return [(c.name, f"{c.type}{' NOT NULL' if c.required else ''}") for c in source.columns]


def render_create_table(config: PipelineConfig, source: Source) -> str:
    columns = _data_columns(source)
    if source.lineage:
        columns += [(name, kind) for name, kind, _ in LINEAGE_COLUMNS]
    declared = ", ".join(f"{name} {kind}" for name, kind in columns)
    return f"CREATE TABLE IF NOT EXISTS {config.table_of(source)} ({declared})"


def render_add_lineage(config: PipelineConfig, source: Source) -> list[str]:
    """The lineage columns for a table created before `lineage: true` was set (no-ops after)."""
    if not source.lineage:
        return []
    return [
        f"ALTER TABLE {config.table_of(source)} ADD COLUMN IF NOT EXISTS {name} {kind}"
        for name, kind, _ in LINEAGE_COLUMNS
    ]


def _select_from_file(source: Source) -> list[str]:
    """What COPY's transformation reads from each record, in the order of `_data_columns`."""
    if source.format.type is FileType.json:
        return ["$1"]
    if source.format.type is FileType.csv:
        return [f"${i}" for i in range(1, len(source.columns) + 1)]
    # Parquet records are objects: each column by its name in the file.
    return [f"$1:{c.name}::{c.type}" for c in source.columns]


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
    table, stage = config.table_of(source), f"@{config.stage}/{source.prefix}"
    if source.lineage:
        # A COPY transformation: the file's fields, then its metadata, into named columns.
        names = [name for name, _ in _data_columns(source)] + [n for n, _, _ in LINEAGE_COLUMNS]
        fields = _select_from_file(source) + [metadata for _, _, metadata in LINEAGE_COLUMNS]
        lines = [
            f"COPY INTO {table} ({', '.join(names)})",
            # every name passed config.py's identifier and prefix checks
            f"FROM (SELECT {', '.join(fields)} FROM {stage})",  # nosec B608
        ]
    else:
        lines = [f"COPY INTO {table}", f"FROM {stage}"]
    lines.append(f"FILE_FORMAT = {render_file_format(source.format)}")
    if source.pattern:
        lines.append(f"PATTERN = {_quote(source.pattern)}")
    if source.format.type is FileType.parquet and not source.lineage:
        lines.append("MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE")
    # abort: one bad file aborts the whole statement, so a failed load leaves nothing
    # half-loaded. skip_file: each bad file is skipped whole (a LOAD_FAILED result row) and
    # tried again by the next COPY; the good files load.
    skip = source.on_error is OnError.skip_file
    lines.append(f"ON_ERROR = {'SKIP_FILE' if skip else 'ABORT_STATEMENT'}")
    return "\n".join(lines)
