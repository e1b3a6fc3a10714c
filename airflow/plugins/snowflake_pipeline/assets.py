"""Assets name Snowflake tables by their fully qualified name, so producer and consumer agree.

Name only (the URI defaults to it): a URI with a scheme makes Airflow load every provider's
URI handlers at parse time, which costs about a second per DAG parse and per task.
"""

from __future__ import annotations

from airflow.sdk import Asset


def table_asset(qualified_name: str) -> Asset:
    return Asset(name=qualified_name.lower())
