"""A sources file with many sources: the real ones plus generated CSV sources.

snowflake_analytics reads the real raw tables, so they stay; the generated ones only make
snowflake_raw (and the config validation) bigger: what the parse benchmark and the scale test need.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from snowflake_pipeline.config import load_config, sources_file

# The columns of every generated source; `id` is required, as a key column would be.
GENERATED_COLUMNS = (
    {"name": "id", "type": "INTEGER", "required": True},
    {"name": "kind", "type": "VARCHAR"},
    {"name": "amount", "type": "NUMBER(12,2)"},
)
GENERATED_PREFIX = "generated/"


def generated_config(total_sources: int, real: Path | None = None) -> dict:
    """The real config (the DAGs' own unless `real`) with CSV sources appended up to
    `total_sources`, each under its own prefix below GENERATED_PREFIX."""
    config = yaml.safe_load((real or sources_file()).read_text())
    for number in range(1, total_sources - len(config["sources"]) + 1):
        name = f"generated_{number:04d}"
        config["sources"].append(
            {
                "name": name,
                "prefix": f"{GENERATED_PREFIX}{name}/",
                "format": {"type": "csv", "skip_header": 1},
                "table": name,
                "columns": [dict(column) for column in GENERATED_COLUMNS],
            }
        )
    return config


def write_sources_file(path: Path, total_sources: int, real: Path | None = None) -> Path:
    """Write the generated config and validate it the way the DAGs will."""
    path.write_text(yaml.safe_dump(generated_config(total_sources, real), sort_keys=False))
    load_config(path)
    return path
