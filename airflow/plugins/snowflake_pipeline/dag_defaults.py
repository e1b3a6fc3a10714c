"""Defaults every DAG of the project shares: ownership, retries with backoff, tags."""

from __future__ import annotations

from datetime import datetime, timedelta

START_DATE = datetime(2024, 1, 1)
DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=10),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=5),
}
