"""Airflow's local-settings hook ($AIRFLOW_HOME/config is on sys.path; the image copies this
file there, the local stack puts this folder on PYTHONPATH).

The scheduler imports what every task needs before it forks its LocalExecutor workers, so each
task starts with it loaded instead of importing it again: the Snowflake connector alone imports
pandas and pyarrow (about 3 s of CPU per task on a small machine), and forked pages are shared.
dbt-core, its Snowflake adapter and Cosmos's local operators likewise: every task of
snowflake_analytics runs dbt in its own process, and importing them took 7-13 s per task on two
busy cores (about 60 MB, shared with the workers).
"""

import sys

if "scheduler" in sys.argv:
    import airflow.providers.snowflake.hooks.snowflake  # noqa: F401
    import cosmos.operators.local  # noqa: F401
    import dbt.adapters.snowflake  # noqa: F401
    import dbt.cli.main  # noqa: F401
    import snowflake.connector  # noqa: F401
