"""Assets name Snowflake tables by their fully qualified name, so producer and consumer agree."""

from __future__ import annotations

from airflow.sdk import Asset


def table_asset(qualified_name: str) -> Asset:
    return Asset(name=qualified_name.lower(), uri=f"snowflake-table://{qualified_name.lower()}")
