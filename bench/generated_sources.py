"""A sources file with many sources: the five real ones plus generated CSV sources.

snowflake_analytics reads the five real raw tables, so they stay; the generated ones only make
snowflake_raw (and the config validation) bigger, which is what the parse benchmark needs.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from snowflake_pipeline.config import load_config

REAL_SOURCES = Path(__file__).resolve().parents[1] / "airflow" / "dags" / "config" / "sources.yml"


def generated_config(total_sources: int, real: Path = REAL_SOURCES) -> dict:
    """The real config with generated CSV sources appended up to `total_sources`."""
    config = yaml.safe_load(real.read_text())
    real_count = len(config["sources"])
    for number in range(1, total_sources - real_count + 1):
        name = f"generated_{number:04d}"
        config["sources"].append(
            {
                "name": name,
                "prefix": f"{name}/",
                "format": {"type": "csv", "skip_header": 1, "null_if": ["NA", ""]},
                "table": name,
                "columns": [
                    {"name": "id", "type": "INTEGER"},
                    {"name": "label", "type": "VARCHAR"},
                    {"name": "amount", "type": "NUMBER(12,2)"},
                    {"name": "seen_on", "type": "DATE"},
                ],
            }
        )
    return config


def write_sources_file(path: Path, total_sources: int) -> Path:
    """Write the generated config and validate it the way the DAGs will."""
    path.write_text(yaml.safe_dump(generated_config(total_sources), sort_keys=False))
    load_config(path)
    return path
