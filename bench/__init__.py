"""Benchmarks: scripts that measure and print figures (never asserted in tests).

They reuse the pipeline's own code (airflow/plugins/snowflake_pipeline), found the way the local
tooling finds it: importing `local` puts the plugins folder on sys.path, as Airflow does.
"""

import local  # noqa: F401
