"""The pipeline's SQL run one statement after another by a plain connector script, no Airflow.

The statements are the pipeline's own: `load_source` for every configured source (what each
`load_*` task runs), then every task of snowflake_analytics in dependency order, with the SQL
the DAG itself declares (the rendered build SQL of airflow/dags/sql/, the check operators' queries).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from contextlib import closing
from functools import cache

from snowflake_pipeline.config import DAGS_DIR


@cache
def raw_config():
    from snowflake_pipeline.config import load_config

    return load_config()


@cache
def analytics_statements() -> tuple[tuple[str, str], ...]:
    """(task id, SQL) of every snowflake_analytics task, upstream tasks first."""
    # Importing Airflow writes a default config to $AIRFLOW_HOME: keep it out of ~/airflow.
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-home-"))
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    spec = importlib.util.spec_from_file_location(
        "bench_analytics_dag", DAGS_DIR / "snowflake_analytics.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = _dag_of(module, "snowflake_analytics")
    return tuple((task.task_id, task.sql) for task in dag.topological_sort())


def _dag_of(module, dag_id: str):
    """The DAG a DAG file declares (`with DAG(...)` binds no name): found through its tasks."""
    for value in vars(module).values():
        for item in value.values() if isinstance(value, dict) else (value,):
            dag = getattr(item, "dag", None)
            if getattr(dag, "dag_id", None) == dag_id:
                return dag
    raise LookupError(f"{module.__file__} declares no task of DAG {dag_id}")


def reset_raw_tables(conn) -> None:
    """Drop the raw tables so that the next load loads every file again (load history goes too)."""
    with closing(conn.cursor()) as cur:
        for source in raw_config().sources:
            cur.execute(f"DROP TABLE IF EXISTS {raw_config().table_of(source)}")


def run(conn, run_id: str) -> int:
    """Load every source, then build and check analytics; return the rows loaded."""
    from snowflake_pipeline.load import load_source

    config = raw_config()
    rows = sum(load_source(conn, config, s, run_id).rows_loaded for s in config.sources)
    with closing(conn.cursor()) as cur:
        for _task_id, sql in analytics_statements():
            cur.execute(sql)
            cur.fetchall()
    return rows
