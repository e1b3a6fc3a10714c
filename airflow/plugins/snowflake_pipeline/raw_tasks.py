"""The task that loads one configured source, declared with the raw table as its Asset outlet."""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import asdict

from airflow.sdk import task

from snowflake_pipeline.assets import table_asset
from snowflake_pipeline.config import PipelineConfig, Source

log = logging.getLogger(__name__)


def load_task(config: PipelineConfig, source: Source):
    @task(task_id=f"load_{source.name}", outlets=[table_asset(config.table_of(source))])
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
