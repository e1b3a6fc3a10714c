"""The raw-source config (airflow/dags/config/sources.yml): models and validation.

Validation runs when the DAG file is parsed, so a bad config shows up as a DAG import error that
names the file, the source, the key and what is allowed.
"""

from __future__ import annotations

import contextlib
import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
# Column types a raw table may use (Snowflake names); parameters like NUMBER(38,2) are allowed.
COLUMN_TYPE = re.compile(
    r"^(VARCHAR|STRING|TEXT|NUMBER|DECIMAL|NUMERIC|INT|INTEGER|BIGINT|SMALLINT|FLOAT|DOUBLE|REAL"
    r"|BOOLEAN|DATE|TIME|TIMESTAMP|TIMESTAMP_NTZ|VARIANT)(\(\d+(,\s*\d+)?\))?$",
    re.IGNORECASE,
)


# libyaml's safe loader parses a 500-source file ~5x faster than the pure-Python one (this runs
# at every DAG parse); it is the same safe loader, so fall back to it where libyaml is missing.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Another sources file for the same DAGs (per environment, or a generated one for scale tests).
SOURCES_FILE_ENV = "PIPELINE_SOURCES_FILE"
# The DAGs folder beside this plugins folder, in the repository and in the image alike: tools that
# run outside Airflow (the account setup, the report, the benchmarks) read the DAGs' own config.
DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


def sources_file(dags_dir: str | Path = DAGS_DIR) -> Path:
    """The sources file the DAGs read: $PIPELINE_SOURCES_FILE when set, else the DAGs' own."""
    return Path(os.environ.get(SOURCES_FILE_ENV) or Path(dags_dir) / "config" / "sources.yml")


class ConfigError(ValueError):
    """A config problem, worded for the person who must fix the file."""


def _identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a plain identifier: use letters, digits, _ or $, "
            "starting with a letter or _ (no quotes, dots, spaces or semicolons)"
        )
    return value


def _qualified(parts: int):
    def check(value: str) -> str:
        names = value.split(".")
        if len(names) != parts:
            raise ValueError(f"{value!r} must have {parts} dot-separated parts")
        for name in names:
            _identifier(name)
        return value

    return check


Identifier = Annotated[str, AfterValidator(_identifier)]
SchemaName = Annotated[str, AfterValidator(_qualified(2))]  # database.schema
ObjectName = Annotated[str, AfterValidator(_qualified(3))]  # database.schema.object


class FileType(StrEnum):
    csv = "csv"
    json = "json"
    parquet = "parquet"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Compression(StrEnum):
    auto = "auto"  # by the file's extension (.gz, .bz2, .zst), as Snowflake does
    gzip = "gzip"
    bz2 = "bz2"
    zstd = "zstd"
    none = "none"


def _single_quoted_free(value: str) -> str:
    if "'" in value or "\\" in value or not value.strip():
        raise ValueError(f"{value!r} must be non-empty text without quotes or backslashes")
    return value


FormatText = Annotated[str, AfterValidator(_single_quoted_free)]
# Options by the file types they apply to (Snowflake's FILE_FORMAT options of the same names).
CSV_ONLY = {
    "skip_header",
    "field_delimiter",
    "field_optionally_enclosed_by",
    "null_if",
    "date_format",
    "timestamp_format",
    "escape",
    "encoding",
}
JSON_ONLY = {"strip_outer_array"}


class FileFormat(Strict):
    type: FileType
    compression: Compression = Compression.auto
    skip_header: int = Field(0, ge=0)
    field_delimiter: str = Field(",", min_length=1, max_length=1)
    field_optionally_enclosed_by: str | None = Field(None, min_length=1, max_length=1)
    null_if: tuple[str, ...] = ()
    # Snowflake's format elements, e.g. YYYY/MM/DD or YYYY-MM-DD HH24:MI:SS (default AUTO).
    date_format: FormatText | None = None
    timestamp_format: FormatText | None = None
    # The escape character of enclosed fields, e.g. '\\' (Snowflake's ESCAPE).
    escape: str | None = Field(None, min_length=1, max_length=1)
    encoding: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")] | None = None  # e.g. ISO-8859-1
    # The file is one JSON array of records: each element is a row (Snowflake's STRIP_OUTER_ARRAY).
    strip_outer_array: bool = False

    @model_validator(mode="after")
    def _options_of_their_type(self) -> FileFormat:
        for kind, only in ((FileType.csv, CSV_ONLY), (FileType.json, JSON_ONLY)):
            used = only & self.model_fields_set
            if self.type is not kind and used:
                raise ValueError(f"{', '.join(sorted(used))} only apply to type {kind.value}")
        if self.type is FileType.parquet and self.compression not in (
            Compression.auto,
            Compression.none,
        ):
            raise ValueError(
                "parquet files carry their compression inside: remove 'compression' (or use auto)"
            )
        return self


class EmptyFiles(StrEnum):
    fail = "fail"  # an empty or header-only file fails the load: usually a broken export
    load = "load"  # accepted as zero rows (Snowflake's own behaviour)


class OnError(StrEnum):
    abort = "abort"  # a bad file fails the source's load and nothing of it is kept (default)
    skip_file = "skip_file"  # good files load and are kept; the task still fails, naming the bad


class Column(Strict):
    name: Identifier
    type: str
    # NOT NULL in the raw table: a file without the column (or with empty values) fails its load.
    required: bool = False

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if not COLUMN_TYPE.match(value.strip()):
            raise ValueError(
                f"{value!r} is not an allowed column type; use one of VARCHAR, NUMBER(p,s), "
                "INTEGER, FLOAT, BOOLEAN, DATE, TIMESTAMP_NTZ, VARIANT"
            )
        return value.strip().upper()


class Source(Strict):
    name: Identifier
    prefix: str = Field(pattern=r"^[A-Za-z0-9_\-./]+/$")
    format: FileFormat
    table: Identifier
    columns: tuple[Column, ...] = ()
    empty_files: EmptyFiles = EmptyFiles.fail
    on_error: OnError = OnError.abort
    # Three more columns, filled by COPY: _file_name, _file_row_number, _loaded_at. Parquet
    # columns are then read by their exact name in the file (a COPY transformation).
    lineage: bool = False
    # Snowflake's PATTERN: a regular expression the whole path of a file must match to load,
    # e.g. '.*[.]csv' to skip the _SUCCESS and manifest files exporters leave beside the data.
    pattern: str | None = None

    @field_validator("pattern")
    @classmethod
    def _a_regular_expression(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "'" in value or not value:
            raise ValueError(f"{value!r} must be a non-empty regular expression without quotes")
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
        return value

    @field_validator("prefix")
    @classmethod
    def _inside_the_stage(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError(f"{value!r} must be a path inside the stage: no leading / and no ..")
        return value

    @model_validator(mode="after")
    def _lineage_names_are_free(self) -> Source:
        taken = {"_file_name", "_file_row_number", "_loaded_at"} & {
            c.name.lower() for c in self.columns
        }
        if self.lineage and taken:
            raise ValueError(
                f"column(s) {', '.join(sorted(taken))} clash with the lineage columns: rename "
                "them or set lineage: false"
            )
        return self

    @model_validator(mode="after")
    def _columns_match_format(self) -> Source:
        if self.format.type is FileType.json and self.columns:
            raise ValueError("json sources load into one VARIANT column: remove 'columns'")
        if self.format.type is not FileType.json and not self.columns:
            raise ValueError(f"{self.format.type.value} sources need 'columns' (name and type)")
        return self


class Events(Strict):
    """snowflake_raw started by the landing bucket's S3 ObjectCreated notifications, which an
    SQS queue holds (its URL: the environment variable PIPELINE_EVENT_QUEUE_URL) and Airflow's
    triggerer polls. Each poll takes up to max_messages x batches messages: one DAG run for them."""

    # Where the stage's URL points inside the bucket: event keys start with it.
    stage_path: str = Field(default="landing/", pattern=r"^([A-Za-z0-9_\-.]+/)*$")
    aws_connection_id: str = "aws_default"
    max_messages: int = Field(default=10, ge=1, le=10)  # SQS returns at most 10 per call
    batches: int = Field(default=3, ge=1, le=10)
    poll_seconds: float = Field(default=2, gt=0, le=300)


class PipelineConfig(Strict):
    stage: ObjectName
    raw_schema: SchemaName
    audit_table: ObjectName
    connection_id: str = "snowflake_default"
    # cron or preset (a safety schedule beside events), or null
    schedule: str | None = None
    events: Events | None = None
    # a snowflake_raw run unfinished this long after it was queued sends a lateness alert
    late_after_seconds: int | None = Field(default=None, gt=0)
    sources: tuple[Source, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PipelineConfig:
        for attr in ("name", "table"):
            seen: dict[str, str] = {}
            for source in self.sources:
                key = getattr(source, attr).lower()
                if key in seen:
                    raise ValueError(
                        f"duplicate {attr} {getattr(source, attr)!r} in sources "
                        f"{seen[key]!r} and {source.name!r}: each source needs its own {attr}"
                    )
                seen[key] = source.name
        return self

    def table_of(self, source: Source) -> str:
        return f"{self.raw_schema}.{source.table}"

    def source_named(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)


def _where(raw: Any, loc: tuple) -> str:
    """Describe an error location as 'source <name>, key <a.b>' using the raw YAML."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "sources" and isinstance(parts[1], int):
        index = parts[1]
        name = None
        with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
            name = raw["sources"][index].get("name")
        key = ".".join(str(p) for p in parts[2:]) or "(the source itself)"
        label = f"source {name!r}" if name else f"source #{index + 1}"
        return f"{label}, key {key!r}"
    return f"key {'.'.join(str(p) for p in parts) or '(top level)'!r}"


def _explain(error: dict) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see the allowed keys in the README)"
    if kind == "missing":
        return "missing required key"
    if kind == "enum":
        allowed = error.get("ctx", {}).get("expected", "")
        return f"unsupported value {error.get('input')!r}; allowed: {allowed}"
    return msg.removeprefix("Value error, ")


def read_yaml(path: Path) -> Any:
    """A config file's YAML; a missing or broken file is a ConfigError naming it."""
    try:
        return yaml.load(path.read_text(), Loader=_SAFE_LOADER)  # noqa: S506 # nosec B506
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def load_config(path: str | Path | None = None) -> PipelineConfig:
    """Read and validate the sources file (by default the DAGs' own, see `sources_file`); raise
    ConfigError naming file, source and key."""
    path = Path(path) if path is not None else sources_file()
    raw = read_yaml(path)
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: invalid sources config ({exc.error_count()} problem(s)):"]
        for error in exc.errors():
            lines.append(f"  - {_where(raw, error['loc'])}: {_explain(error)}")
        raise ConfigError("\n".join(lines)) from None
