"""The analytics layer's dbt project (dbt/): where it is, its sources, its profile.

The raw tables are declared once, in the pipeline's sources file; dbt's sources
(dbt/models/staging/_sources.yml) are generated from it by `render_sources` and committed, so that
dbt, Cosmos and an analyst's editor read a plain file. A test fails when the committed file differs
from what the sources file gives (regenerate: `python -m local dbt-sources`).

The dbt profile is not a file of the project: it is derived from the Airflow connection the
pipeline uses (`connection_id`, snowflake_default) by Cosmos's profile mapping, the same mapping
for a DAG and for `make dbt`, so the same models run against the emulator and a real account.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from snowflake_pipeline.analytics import load_declaration
from snowflake_pipeline.config import DAGS_DIR, FileType, PipelineConfig, Source
from snowflake_pipeline.sql_render import JSON_COLUMN, LINEAGE_COLUMNS

# dbt/ sits beside airflow/ in the repository (and beside dags/ in an image that carries it).
PROJECT_DIR = next(
    (d for d in (DAGS_DIR.parent.parent / "dbt", DAGS_DIR.parent / "dbt") if d.is_dir()),
    DAGS_DIR.parent.parent / "dbt",
)
SOURCES_FILE = Path("models") / "staging" / "_sources.yml"
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


def analytics_target(dags_dir: str | Path = DAGS_DIR) -> dict[str, str]:
    """The database and schema the models are built in (analytics.yml's analytics_schema)."""
    database, schema = load_declaration(dags_dir).analytics_schema.split(".")
    return {"database": database, "schema": schema}


def profile_mapping(config: PipelineConfig, dags_dir: str | Path = DAGS_DIR):
    """Cosmos's profile mapping of the pipeline's Snowflake connection (key pair or password,
    chosen by Cosmos from the connection), targeting the analytics schema. Imports Airflow."""
    from cosmos.profiles import get_automatic_profile_mapping

    return get_automatic_profile_mapping(
        config.connection_id, profile_args=analytics_target(dags_dir)
    )
