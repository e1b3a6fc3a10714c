"""The tasks of snowflake_raw: one load per configured source, then one that publishes the raw
tables that got new rows as Asset events (what snowflake_analytics is scheduled on)."""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import asdict

from airflow.sdk import AssetAlias, task

from snowflake_pipeline.assets import table_asset
from snowflake_pipeline.config import PipelineConfig, Source

log = logging.getLogger(__name__)

# Events added through an alias reach the DAGs scheduled on each table's own Asset; a table that
# loaded nothing new gets no event, so nothing downstream rebuilds for it.
LOADED_TABLES = AssetAlias("snowflake_raw.loaded_tables")


def load_task(config: PipelineConfig, source: Source):
    @task(task_id=f"load_{source.name}")
    def load(**context) -> dict:
        # Heavy imports stay inside the task so the DAG file parses fast.
        from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook
        from airflow.sdk.exceptions import AirflowFailException

        from snowflake_pipeline.load import SourceLoadError, load_source

        hook = SnowflakeHook(snowflake_conn_id=config.connection_id)
        with closing(hook.get_conn()) as conn:
            try:
                summary = load_source(conn, config, source, context["run_id"])
            except SourceLoadError as exc:
                # A bad file stays bad on retry: fail now, with the file named.
                raise AirflowFailException(str(exc)) from exc
        log.info("Loaded %s", summary)
        return asdict(summary)

    return load()


def publish_task(loads: list):
    """After every load succeeded: one Asset event per table that loaded rows, all at once, so
    that one raw run queues one analytics run."""

    @task(task_id="publish_loaded_tables", outlets=[LOADED_TABLES])
    def publish(summaries: list[dict], **context) -> list[str]:
        tables = [s["table"] for s in summaries if s["rows_loaded"]]
        for table in tables:
            context["outlet_events"][LOADED_TABLES].add(table_asset(table))
        log.info("New rows in: %s", ", ".join(tables) or "no table (nothing to rebuild)")
        return tables

    return publish(loads)
