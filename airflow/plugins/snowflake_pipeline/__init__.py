"""Shared code of the snowflake_raw and snowflake_analytics DAGs.

Data flows one way: config (sources.yml) -> rendered SQL -> Snowflake -> load audit and Assets.
Modules here import only light dependencies so that DAG files parse fast.
"""
