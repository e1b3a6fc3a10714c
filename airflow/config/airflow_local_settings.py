"""Airflow's local-settings hook ($AIRFLOW_HOME/config is on sys.path; the image copies this
file there, the local stack puts this folder on PYTHONPATH).

The scheduler imports what every task needs before it forks its LocalExecutor workers, so each
task starts with it loaded instead of importing it again: the Snowflake connector alone imports
pandas and pyarrow (about 3 s of CPU per task on a small machine), and forked pages are shared.
dbt-core, its Snowflake adapter and Cosmos's local operators likewise: every task of
snowflake_analytics runs dbt in its own process, and importing them took 7-13 s per task on two
busy cores (about 60 MB, shared with the workers).

The dag-processor parses each DAG file in a process forked from it, every
min_file_process_interval, and every task process parses its task's DAG file, so both the
dag-processor and the scheduler import the third-party modules the DAG files use at parse time
once: the landing queue's trigger (which imports boto3), Cosmos's DAG rendering, the config's
readers. A parse of snowflake_raw took 0.72 s of CPU before and 0.06 s after, snowflake_analytics
0.17 s and 0.10 s; the dag-processor holds about 18 MB more. In a task process (the scheduler's
preload above already there) the parse went from 0.17 to 0.05 s for snowflake_raw and from 0.21 to
0.09 s for snowflake_analytics, whose run has 17 tasks. The project's own snowflake_pipeline is
never preloaded: a changed plugin file is read by the next parse.
"""

import sys


def _preload_parse_time_modules() -> None:
    """What the DAG files import when parsed, except the project's own plugin."""
    import airflow.providers.amazon.aws.triggers.sqs  # noqa: F401
    import airflow.providers.common.messaging.triggers.msg_queue  # noqa: F401
    import airflow.providers.standard.decorators.python  # noqa: F401
    import airflow.sdk.bases.sensor  # noqa: F401
    import cosmos.airflow.dag  # noqa: F401
    import cosmos.converter  # noqa: F401
    import cosmos.listeners.dag_run_listener  # noqa: F401
    import cosmos.operators.watcher  # noqa: F401
    import cosmos.profiles  # noqa: F401
    import packaging.requirements  # noqa: F401
    import pydantic  # noqa: F401
    import upath.implementations.local  # noqa: F401
    import yaml  # noqa: F401


if "scheduler" in sys.argv:
    import airflow.providers.snowflake.hooks.snowflake  # noqa: F401
    import cosmos.operators.local  # noqa: F401
    import dbt.adapters.snowflake  # noqa: F401
    import dbt.cli.main  # noqa: F401
    import snowflake.connector  # noqa: F401

    _preload_parse_time_modules()

if "dag-processor" in sys.argv:
    _preload_parse_time_modules()

if {"api-server", "scheduler", "dag-processor", "triggerer"} & set(sys.argv):
    import atexit
    import gc

    # Python's collections while it clears its modules at exit walked the component's whole
    # heap: for the api-server (the FastAPI apps, their models) 2.5 s of CPU on a quiet host,
    # 13 s for a stop in the ECS task's 0.25 vCPU, and past its 60 s StopTimeout when the cores
    # were busy (ECS then kills it); the triggerer took 16 s of its 60. Frozen first, those
    # collections skip it. The process's other exit handlers (logging's flush among them) still
    # run after this one; the processes forked from these end with os._exit, without any.
    atexit.register(gc.freeze)
