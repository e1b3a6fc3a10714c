"""The analytics layer's dbt project (dbt/): where it is, where it builds, its sources, its
manifest and its profile.

Where the models are built (database and schema) is declared once, in
airflow/dags/config/analytics.yml (`analytics_schema`): the account setup (sql/) creates and grants
it, the profile targets it, the report reads it.

The raw tables are declared once, in the pipeline's sources file; dbt's sources
(dbt/models/staging/_sources.yml) are generated from it by `render_sources` and committed, so that
dbt, Cosmos and an analyst's editor read a plain file. A test fails when the committed file differs
from what the sources file gives (regenerate: `python -m local dbt-sources`).

The dbt profile is not a file of the project: it is derived from the Airflow connection the
pipeline uses (`connection_id`, snowflake_default) by Cosmos's profile mapping, the same mapping
for a DAG and for `make dbt`, so the same models run against the emulator and a real account.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from snowflake_pipeline.config import (
    DAGS_DIR,
    ConfigError,
    FileType,
    PipelineConfig,
    SchemaName,
    Source,
    Strict,
    read_yaml,
)
from snowflake_pipeline.sql_render import JSON_COLUMN, LINEAGE_COLUMNS

PLUGINS_DIR = Path(__file__).resolve().parents[1]
# dbt/ sits beside airflow/ in the repository and beside plugins/ in the image (/opt/airflow/dbt);
# found from the plugins, which every image carries, not from the DAGs (an S3 DAG bundle holds
# DAGs only).
PROJECT_DIR_ENV = "PIPELINE_DBT_PROJECT_DIR"
PROJECT_DIR = Path(
    os.environ.get(PROJECT_DIR_ENV)
    or next(
        (d for d in (PLUGINS_DIR.parent.parent / "dbt", PLUGINS_DIR.parent / "dbt") if d.is_dir()),
        PLUGINS_DIR.parent.parent / "dbt",
    )
)
SOURCES_FILE = Path("models") / "staging" / "_sources.yml"
# Built by `dbt parse` when the image is built and by `make run`'s install step (never at DAG
# parse): Cosmos reads the graph from it (manifest load mode, no `dbt ls`).
MANIFEST_FILE = Path("target") / "manifest.json"
# A profile for `dbt parse` alone, which never connects: no secret, no network.
PARSE_PROFILES_DIR = Path("parse_profile")
# What models call the raw layer: {{ source('raw', '<source name>') }}.
RAW_SOURCE = "raw"
HEADER = """\
# GENERATED from airflow/dags/config/sources.yml: do not edit. Regenerate with
#   python -m local dbt-sources
# (test/plugins/test_dbt_project.py fails while this file and the sources file disagree).
# Models read these tables as {{ source('raw', '<name>') }}.
"""


def project_name(project_dir: Path = PROJECT_DIR) -> str:
    return _project(project_dir)["name"]


def profile_name(project_dir: Path = PROJECT_DIR) -> str:
    """The profile dbt_project.yml asks for: the one the mapping below provides."""
    return _project(project_dir)["profile"]


def _project(project_dir: Path) -> dict:
    return yaml.safe_load((project_dir / "dbt_project.yml").read_text())


def _columns(source: Source) -> list[dict]:
    if source.format.type is FileType.json:
        columns = [{"name": JSON_COLUMN, "data_type": "VARIANT", "description": "the record"}]
    else:
        columns = [
            {"name": c.name, "data_type": c.type}
            | ({"description": "required: a file without it fails its load"} if c.required else {})
            for c in source.columns
        ]
    if source.lineage:
        columns += [
            {"name": name, "data_type": kind, "description": f"COPY's {metadata}"}
            for name, kind, metadata in LINEAGE_COLUMNS
        ]
    return columns


def render_sources(config: PipelineConfig) -> str:
    """dbt's sources file for the raw tables of the pipeline's sources file."""
    database, schema = config.raw_schema.split(".")
    tables = [
        {
            "name": source.name,
            "identifier": source.table,
            "description": (
                f"Loaded by snowflake_raw's load_{source.name} from the stage's {source.prefix} "
                f"({source.format.type.value} files)."
            ),
            "columns": _columns(source),
        }
        for source in config.sources
    ]
    document = {
        "version": 2,
        "sources": [
            {
                "name": RAW_SOURCE,
                "description": f"The raw layer ({config.raw_schema}): files loaded as they land.",
                "database": database,
                "schema": schema,
                "tables": tables,
            }
        ],
    }
    return HEADER + yaml.dump(document, Dumper=_Indented, sort_keys=False, width=100)


class _Indented(yaml.SafeDumper):
    """Lists indented under their key, as dbt's own examples write YAML."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


class AnalyticsDeclaration(Strict):
    analytics_schema: SchemaName


def analytics_file(dags_dir: str | Path = DAGS_DIR) -> Path:
    return Path(dags_dir) / "config" / "analytics.yml"


def analytics_schema(dags_dir: str | Path = DAGS_DIR) -> str:
    """`database.schema` the models are built in; ConfigError naming the file when invalid."""
    path = analytics_file(dags_dir)
    try:
        return AnalyticsDeclaration.model_validate(read_yaml(path)).analytics_schema
    except ValidationError as exc:
        problems = "\n".join(
            f"  - key {'.'.join(str(p) for p in e['loc'])!r}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: invalid analytics config:\n{problems}") from None


def analytics_target(dags_dir: str | Path = DAGS_DIR) -> dict[str, str]:
    """The database and schema of the profile's target (analytics.yml's analytics_schema)."""
    database, schema = analytics_schema(dags_dir).split(".")
    return {"database": database, "schema": schema}


def manifest_path(project_dir: Path = PROJECT_DIR) -> Path:
    return project_dir / MANIFEST_FILE


def read_manifest(project_dir: Path = PROJECT_DIR) -> dict:
    path = manifest_path(project_dir)
    if not path.is_file():
        raise ConfigError(
            f"{path}: no dbt manifest. It is built by `make run`'s install step "
            "(python -m local dbt-parse) and when the image is built (`dbt parse`)"
        )
    return json.loads(path.read_text())


def models(manifest: dict) -> dict[str, dict]:
    """The project's models by name."""
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }


def raw_inputs(config: PipelineConfig, manifest: dict) -> tuple[str, ...]:
    """The raw tables (fully qualified, config order) that the models read through source()."""
    read = {
        manifest["sources"][unique_id]["name"]
        for node in models(manifest).values()
        for unique_id in node["depends_on"]["nodes"]
        if unique_id.startswith("source.")
    }
    return tuple(config.table_of(s) for s in config.sources if s.name in read)


def model_tables(manifest: dict, dags_dir: str | Path = DAGS_DIR) -> dict[str, str]:
    """Model name -> the table or view it builds, fully qualified as the target names it
    (analytics.yml's schema), in the manifest's dependency order: upstream models first."""
    from graphlib import TopologicalSorter

    named = models(manifest)
    graph = {
        name: [
            manifest["nodes"][upstream]["name"]
            for upstream in node["depends_on"]["nodes"]
            if upstream.startswith("model.")
        ]
        for name, node in named.items()
    }
    schema = analytics_schema(dags_dir)
    return {name: f"{schema}.{name}" for name in TopologicalSorter(graph).static_order()}


def profile_mapping(config: PipelineConfig, dags_dir: str | Path = DAGS_DIR):
    """Cosmos's profile mapping of the pipeline's Snowflake connection (key pair, as `make deploy`
    writes it and the local stack uses, or password, as compose's emulator connection), targeting
    the analytics schema. It reads the connection when a task renders its profile, never when a
    DAG file is parsed. Imports Airflow and Cosmos."""
    from snowflake_pipeline.dbt_profile import SnowflakeConnectionProfileMapping

    return SnowflakeConnectionProfileMapping(
        config.connection_id, profile_args=analytics_target(dags_dir)
    )
