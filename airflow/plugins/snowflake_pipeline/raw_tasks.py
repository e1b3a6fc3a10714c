"""The tasks of snowflake_raw: one load per configured source, then one that publishes the raw
tables that got new rows as Asset events (what snowflake_analytics is scheduled on).

A run started by landing events loads only the sources whose prefixes the events name; the
others are skipped and publish nothing. A manual or scheduled run loads every source."""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import asdict

from airflow.sdk import AssetAlias, task

from snowflake_pipeline.assets import table_asset
from snowflake_pipeline.config import PipelineConfig, Source
from snowflake_pipeline.events import landing_extras, route

log = logging.getLogger(__name__)

# Events added through an alias reach the DAGs scheduled on each table's own Asset; a table that
# loaded nothing new gets no event, so nothing downstream rebuilds for it.
LOADED_TABLES = AssetAlias("snowflake_raw.loaded_tables")


def load_task(config: PipelineConfig, source: Source):
    @task(task_id=f"load_{source.name}")
    def load(**context) -> dict:
        # Heavy imports stay inside the task so the DAG file parses fast.
        from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from snowflake_pipeline.load import SourceLoadError, load_source

        extras = landing_extras(context.get("triggering_asset_events"))
        if extras is not None:
            keys = route(config, extras).keys.get(source.name, [])
            if not keys:
                raise AirflowSkipException(f"no file landed under {source.prefix} in this run")
            log.info("Landed under %s: %s", source.prefix, ", ".join(keys))

        hook = SnowflakeHook(snowflake_conn_id=config.connection_id)
        with closing(hook.get_conn()) as conn:
            try:
                summary = load_source(conn, config, source, context["run_id"])
            except SourceLoadError as exc:
                # A bad file stays bad on retry: fail now, with the file named.
                raise AirflowFailException(str(exc)) from exc
        log.info("Loaded %s", summary)
        if extras is not None:
            for key in keys:
                if not any(file.endswith(key) for file in summary.files):
                    log.info("Not loaded by this COPY: %s (deleted since, or loaded before)", key)
        return asdict(summary)

    return load()


def publish_task(config: PipelineConfig, loads: list):
    """After every load succeeded or was skipped: one Asset event per table that loaded rows,
    all at once, so that one raw run queues one analytics run."""

    @task(task_id="publish_loaded_tables", outlets=[LOADED_TABLES], trigger_rule="none_failed")
    def publish(**context) -> list[str]:
        _log_what_loaded_nothing(config, context.get("triggering_asset_events"))
        # Pulled, not passed: a skipped load has no summary.
        ids = [f"load_{source.name}" for source in config.sources]
        summaries = [s for s in context["ti"].xcom_pull(task_ids=ids) or [] if s]
        tables = [s["table"] for s in summaries if s["rows_loaded"]]
        for table in tables:
            context["outlet_events"][LOADED_TABLES].add(table_asset(table))
        log.info("New rows in: %s", ", ".join(tables) or "no table (nothing to rebuild)")
        return tables

    published = publish()
    loads >> published
    return published


def _log_what_loaded_nothing(config: PipelineConfig, triggering_asset_events) -> None:
    extras = landing_extras(triggering_asset_events)
    if extras is None:
        return
    landed = route(config, extras)
    if landed.test_events:
        log.info("Ignored %d S3 test event(s) (sent on notification setup)", landed.test_events)
    for key in landed.outside:
        log.info("Ignored %s: under no source's prefix", key)
