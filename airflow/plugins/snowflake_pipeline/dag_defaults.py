"""Defaults every DAG of the project shares: ownership, retries with backoff, failure alerts."""

from __future__ import annotations

from datetime import datetime, timedelta

from snowflake_pipeline.alerts import notify_failure

START_DATE = datetime(2024, 1, 1)
DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=10),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=5),
    # once per task that fails for good, to the alerts topic (alerts.py)
    "on_failure_callback": notify_failure,
}
