"""snowflake_raw: load every source of config/sources.yml from the S3 stage into raw tables.

Sources load independently (one task each); each task's raw table is an Asset outlet that
schedules snowflake_analytics. The config is validated here, at parse time.
"""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import DAG

from snowflake_pipeline.config import load_config, sources_file
from snowflake_pipeline.dag_defaults import DEFAULT_ARGS, START_DATE
from snowflake_pipeline.raw_tasks import load_task

CONFIG = load_config(sources_file(Path(__file__).parent / "config" / "sources.yml"))

with DAG(
    dag_id="snowflake_raw",
    description="COPY INTO raw tables from the S3 landing stage, one task per configured source",
    schedule=CONFIG.schedule,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["snowflake", "raw"],
    doc_md=__doc__,
):
    for source in CONFIG.sources:
        load_task(CONFIG, source)
