"""snowflake_analytics: rebuild the analytics tables when a raw table they read got new rows.

The tables, their SQL (sql/<table>.sql, CREATE OR REPLACE, so rebuilds are idempotent) and their
checks are declared in config/analytics.yml; the build order and the raw Assets this DAG is
scheduled on come from the SQL's own references. Each table's checks run after its build; a
failed check fails the run, named.
"""

from __future__ import annotations

from pathlib import Path

from airflow.providers.common.sql.operators.sql import (
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
    SQLTableCheckOperator,
)
from airflow.sdk import DAG, AssetAny

from snowflake_pipeline.analytics import load_analytics
from snowflake_pipeline.assets import table_asset
from snowflake_pipeline.config import load_config, sources_file
from snowflake_pipeline.dag_defaults import DEFAULT_ARGS, START_DATE

HERE = Path(__file__).parent
CONFIG = load_config(sources_file(HERE))
ANALYTICS = load_analytics(CONFIG, HERE)

with DAG(
    dag_id="snowflake_analytics",
    description="Build analytics tables from the raw layer, then check them",
    # Any raw table read here that got new rows; snowflake_raw publishes them together at the end
    # of its run, so one raw run queues one rebuild, and a run that loaded nothing queues none.
    schedule=AssetAny(*(table_asset(table) for table in ANALYTICS.raw_inputs)),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    # Every build and check runs on the configured Snowflake connection.
    default_args={**DEFAULT_ARGS, "conn_id": CONFIG.connection_id},
    tags=["snowflake", "analytics"],
    doc_md=__doc__,
):
    builds = {}
    for name, table in ANALYTICS.tables.items():
        builds[name] = SQLExecuteQueryOperator(
            task_id=f"build_{name}", sql=table.build_sql, outlets=[table_asset(table.table)]
        )
        for upstream in table.refs:
            builds[upstream] >> builds[name]
        if table.column_checks:
            builds[name] >> SQLColumnCheckOperator(
                task_id=f"check_{name}_columns",
                table=table.table,
                column_mapping=table.column_checks,
            )
        if table.table_checks:
            builds[name] >> SQLTableCheckOperator(
                task_id=f"check_{name}_table",
                table=table.table,
                checks={
                    check: {"check_statement": sql} for check, sql in table.table_checks.items()
                },
            )
