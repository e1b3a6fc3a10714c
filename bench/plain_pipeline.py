"""The pipeline run one step after another by a plain script, no Airflow.

The steps are the pipeline's own: `load_source` for every configured source (what each `load_*`
task runs), then one `dbt build` of the analytics project (dbt/) with the profile the DAG's tasks
get (`make dbt`'s), which builds every model and runs every dbt test in the models' order.
"""

from __future__ import annotations

from contextlib import closing
from functools import cache


@cache
def raw_config():
    from snowflake_pipeline.config import load_config

    return load_config()


def reset_raw_tables(conn) -> None:
    """Drop the raw tables so that the next load loads every file again (load history goes too)."""
    with closing(conn.cursor()) as cur:
        for source in raw_config().sources:
            cur.execute(f"DROP TABLE IF EXISTS {raw_config().table_of(source)}")


@cache
def _dbt_env(settings) -> tuple[tuple[str, str], ...]:
    from local import dbt

    return tuple(dbt.dbt_env(settings).items())


def prepare(settings) -> None:
    """What the script needs before it is timed: the dbt profile (importing Airflow and Cosmos)."""
    _dbt_env(settings)


def run(conn, run_id: str, settings) -> int:
    """Load every source, then `dbt build` the analytics project; return the rows loaded."""
    from local import dbt
    from snowflake_pipeline.load import load_source

    config = raw_config()
    rows = sum(load_source(conn, config, s, run_id).rows_loaded for s in config.sources)
    built = dbt.run(settings, ["build", "--quiet"], env=dict(_dbt_env(settings)))
    if built.returncode != 0:
        raise RuntimeError(f"dbt build failed (exit {built.returncode})")
    return rows
