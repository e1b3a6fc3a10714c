"""snowflake_analytics: rebuild the analytics tables when the raw tables they read are updated.

One SQL file per table under sql/ (CREATE OR REPLACE, so rebuilds are idempotent), then data
quality checks with the common-sql check operators; a failed check fails the run, named.
"""

from __future__ import annotations

from pathlib import Path

from airflow.providers.common.sql.operators.sql import (
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
    SQLTableCheckOperator,
)
from airflow.sdk import DAG

from snowflake_pipeline.assets import table_asset
from snowflake_pipeline.config import load_config, sources_file
from snowflake_pipeline.dag_defaults import DEFAULT_ARGS, START_DATE

HERE = Path(__file__).parent
CONFIG = load_config(sources_file(HERE / "config" / "sources.yml"))
ANALYTICS_SCHEMA = "analytics.nycflights"
# The raw tables the analytics SQL reads; the DAG runs once all of them have been updated.
RAW_INPUTS = ("flights", "weather", "airports", "airlines", "planes")
# table -> the analytics tables it is built from (its SQL file is sql/<table>.sql)
MODELS = {
    "flights": [],
    "dim_date": [],
    "flights_enriched": ["flights"],
    "delays_by_origin_quarter": ["flights", "dim_date"],
}


def analytics_table(name: str) -> str:
    return f"{ANALYTICS_SCHEMA}.{name}"


with DAG(
    dag_id="snowflake_analytics",
    description="Build analytics tables from the raw layer, then check them",
    schedule=[table_asset(f"{CONFIG.raw_schema}.{name}") for name in RAW_INPUTS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    # Every build and check runs on the configured Snowflake connection.
    default_args={**DEFAULT_ARGS, "conn_id": CONFIG.connection_id},
    template_searchpath=[str(HERE / "sql")],
    tags=["snowflake", "analytics"],
    doc_md=__doc__,
):
    builds = {
        name: SQLExecuteQueryOperator(
            task_id=f"build_{name}",
            sql=f"{name}.sql",
            outlets=[table_asset(analytics_table(name))],
        )
        for name in MODELS
    }
    for name, upstream in MODELS.items():
        for parent in upstream:
            builds[parent] >> builds[name]

    raw_flights = f"{CONFIG.raw_schema}.flights"
    checks = [
        SQLColumnCheckOperator(
            task_id="check_flights_columns",
            table=analytics_table("flights"),
            column_mapping={
                "flight_id": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
                "flight_date": {"null_check": {"equal_to": 0}},
                "origin": {"null_check": {"equal_to": 0}},
                # Plausible ranges: early by at most 2 hours, late by at most 2 days.
                "dep_delay": {"min": {"geq_to": -120}, "max": {"leq_to": 2880}},
                "distance": {"min": {"greater_than": 0}, "max": {"leq_to": 10000}},
            },
        ),
        SQLTableCheckOperator(
            task_id="check_flights_reconcile_with_raw",
            table=analytics_table("flights"),
            checks={
                "row_count_equals_raw": {
                    # raw_flights passed config.py's identifier checks
                    "check_statement": f"COUNT(*) = (SELECT COUNT(*) FROM {raw_flights})"  # nosec B608
                },
                "cancelled_without_departure": {
                    "check_statement": "SUM(CASE WHEN cancelled AND dep_delay IS NOT NULL "
                    "THEN 1 ELSE 0 END) = 0"
                },
            },
        ),
        SQLTableCheckOperator(
            task_id="check_flights_enriched_reconcile",
            table=analytics_table("flights_enriched"),
            checks={
                "row_count_equals_flights": {
                    "check_statement": "COUNT(*) = "
                    f"(SELECT COUNT(*) FROM {analytics_table('flights')})"  # nosec B608 - constant
                },
            },
        ),
        SQLColumnCheckOperator(
            task_id="check_dim_date_columns",
            table=analytics_table("dim_date"),
            column_mapping={
                "date_day": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
                "quarter": {"min": {"geq_to": 1}, "max": {"leq_to": 4}},
            },
        ),
        SQLColumnCheckOperator(
            task_id="check_delays_columns",
            table=analytics_table("delays_by_origin_quarter"),
            column_mapping={
                "origin": {"null_check": {"equal_to": 0}},
                "avg_dep_delay_minutes": {"min": {"geq_to": -60}, "max": {"leq_to": 240}},
            },
        ),
    ]
    builds["flights"] >> checks[:2]
    builds["flights_enriched"] >> checks[2]
    builds["dim_date"] >> checks[3]
    builds["delays_by_origin_quarter"] >> checks[4]
