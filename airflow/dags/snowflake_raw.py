"""snowflake_raw: load every source of config/sources.yml from the S3 stage into raw tables.

It runs on the landing bucket's events (files that land start it; only their sources load), on
the config's schedule, or both; or when triggered. Sources load independently (one task each).
Once all have loaded, the raw tables that got new rows are published as Asset events, which
schedule snowflake_analytics; a run that loaded nothing new publishes none. The config is
validated here, at parse time.
"""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import DAG

from snowflake_pipeline.alerts import raw_deadline
from snowflake_pipeline.config import load_config, sources_file
from snowflake_pipeline.dag_defaults import DEFAULT_ARGS
from snowflake_pipeline.events import raw_schedule
from snowflake_pipeline.raw_tasks import load_task, publish_task

SOURCES_FILE = sources_file(Path(__file__).parent)
CONFIG = load_config(SOURCES_FILE)

with DAG(
    dag_id="snowflake_raw",
    description="COPY INTO raw tables from the S3 landing stage, one task per configured source",
    schedule=raw_schedule(CONFIG, SOURCES_FILE),
    # No start_date, and a timetable that never runs a past time at once (events.cron_timetable):
    # a safety schedule's first run is its next time, not the latest past one (which would load
    # everything beside the first run that events or `make run` start).
    catchup=False,
    max_active_runs=1,
    # an alert when a run is late (the sources file's late_after_seconds; none without it)
    deadline=raw_deadline(CONFIG.late_after_seconds),
    default_args=DEFAULT_ARGS,
    tags=["snowflake", "raw"],
    doc_md=__doc__,
):
    publish_task(CONFIG, [load_task(CONFIG, source) for source in CONFIG.sources])
