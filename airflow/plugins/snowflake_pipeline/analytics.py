"""The analytics layer (airflow/dags/config/analytics.yml): its tables, their SQL and their checks.

Each table is built by sql/<table>.sql, which refers to what it reads as dbt does:
{{ source('name') }} (a raw source of sources.yml), {{ ref('table') }} (another analytics table) and
{{ this }} (itself). The build order and the raw inputs come from those references, and the names
are rendered from the config here, at parse time: the SQL that runs on the emulator is the SQL
that runs on Snowflake, and a schema or table is named in one place only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from pydantic import Field, ValidationError

from snowflake_pipeline.config import (
    DAGS_DIR,
    ConfigError,
    Identifier,
    PipelineConfig,
    SchemaName,
    Strict,
    read_yaml,
)

# {{ source('x') }}, {{ ref('x') }} or {{ this }}; any other {{ ... }} is an error.
REFERENCE = re.compile(r"\{\{\s*(?:(source|ref)\(\s*'([^']*)'\s*\)|(this))\s*\}\}")
PLACEHOLDER = re.compile(r"\{\{.*?\}\}")
ColumnChecks = dict[str, dict[str, float]]  # check -> comparison -> value (common-sql's form)


class TableDeclaration(Strict):
    columns: dict[Identifier, ColumnChecks] = Field(default_factory=dict)
    table: dict[Identifier, str] = Field(default_factory=dict)  # check name -> SQL condition


class AnalyticsDeclaration(Strict):
    analytics_schema: SchemaName
    tables: dict[Identifier, TableDeclaration | None] = Field(min_length=1)


@dataclass(frozen=True)
class AnalyticsTable:
    name: str
    table: str  # fully qualified
    build_sql: str  # rendered
    refs: tuple[str, ...]  # analytics tables it reads
    sources: tuple[str, ...]  # raw sources it reads
    column_checks: dict[str, ColumnChecks]
    table_checks: dict[str, str]  # check name -> rendered SQL condition


@dataclass(frozen=True)
class AnalyticsLayer:
    schema: str
    tables: dict[str, AnalyticsTable]  # in build order: every table after the ones it reads
    raw_inputs: tuple[str, ...]  # the raw tables it reads, fully qualified

    def table_of(self, name: str) -> str:
        return self.tables[name].table


def analytics_file(dags_dir: str | Path = DAGS_DIR) -> Path:
    return Path(dags_dir) / "config" / "analytics.yml"


def render(text: str, this: str, config: PipelineConfig, schema: str, tables, where: str):
    """`text` with its references replaced by table names; also the refs and sources it read."""
    refs: list[str] = []
    sources: list[str] = []

    def substitute(match: re.Match) -> str:
        kind, name, is_this = match.groups()
        if is_this:
            return this
        if kind == "ref":
            if name not in tables:
                raise ConfigError(f"{where}: ref('{name}') is not a table of analytics.yml")
            refs.append(name)
            return f"{schema}.{name}"
        source = config.source_named(name)
        if source is None:
            known = ", ".join(s.name for s in config.sources)
            raise ConfigError(f"{where}: source('{name}') is not a source of sources.yml ({known})")
        sources.append(name)
        return config.table_of(source)

    rendered = REFERENCE.sub(substitute, text)
    if leftover := PLACEHOLDER.search(rendered):
        raise ConfigError(
            f"{where}: {leftover.group(0)} is not a reference; use {{{{ source('name') }}}}, "
            "{{ ref('table') }} or {{ this }}"
        )
    return rendered, tuple(dict.fromkeys(refs)), tuple(dict.fromkeys(sources))


def load_declaration(dags_dir: str | Path = DAGS_DIR) -> AnalyticsDeclaration:
    """Read and validate analytics.yml alone (no SQL); raise ConfigError naming the file."""
    path = analytics_file(dags_dir)
    try:
        return AnalyticsDeclaration.model_validate(read_yaml(path))
    except ValidationError as exc:
        problems = "\n".join(
            f"  - key {'.'.join(str(p) for p in e['loc'])!r}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: invalid analytics config:\n{problems}") from None


def load_analytics(config: PipelineConfig, dags_dir: str | Path = DAGS_DIR) -> AnalyticsLayer:
    """Read analytics.yml and every table's SQL; raise ConfigError naming the file and table."""
    path = analytics_file(dags_dir)
    declared = load_declaration(dags_dir)
    sql_dir = Path(dags_dir) / "sql"
    undeclared = {p.stem for p in sql_dir.glob("*.sql")} - set(declared.tables)
    if undeclared:
        raise ConfigError(f"{path}: sql/{sorted(undeclared)[0]}.sql is not a table of this file")
    schema = declared.analytics_schema
    built: dict[str, AnalyticsTable] = {}
    for name, checks in declared.tables.items():
        checks = checks or TableDeclaration()
        sql_file = sql_dir / f"{name}.sql"
        if not sql_file.exists():
            raise ConfigError(f"{path}: table {name!r} has no build SQL {sql_file}")
        this = f"{schema}.{name}"
        sql, refs, sources = render(
            sql_file.read_text(), this, config, schema, declared.tables, str(sql_file)
        )
        table_checks = {
            check: render(condition, this, config, schema, declared.tables, f"{path}: {name}")[0]
            for check, condition in checks.table.items()
        }
        built[name] = AnalyticsTable(
            name, this, sql, refs, sources, dict(checks.columns), table_checks
        )
    try:
        order = list(TopologicalSorter({n: t.refs for n, t in built.items()}).static_order())
    except CycleError as exc:
        raise ConfigError(f"{path}: tables refer to each other in a cycle: {exc.args[1]}") from None
    read = dict.fromkeys(s for t in built.values() for s in t.sources)
    raw_inputs = tuple(config.table_of(config.source_named(name)) for name in read)
    return AnalyticsLayer(schema, {name: built[name] for name in order}, raw_inputs)
