"""Build-time: import what the Airflow components and their tasks import, so that Python writes
their bytecode into the image once (and compile the whole `airflow` package, whose API routes and
CLI commands load lazily).

Without it every new container (each Fargate task, each ECS executor worker) compiled what it
imported before its first line of work: 4.3 of the 7.8 s of CPU that importing Airflow, the
providers, dbt and Cosmos took in a fresh container. Compiling the whole virtualenv instead would
add 685 MB to the image (it holds SDKs no component imports); this adds what is used.

Airflow's home is a throwaway folder meanwhile: importing Airflow writes a default airflow.cfg
there, which must not land in the image.
"""

import compileall
import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

MODULES = (
    # the components, as `airflow <command>` starts them
    "airflow.__main__",
    "airflow.cli.cli_parser",
    "airflow.cli.commands.scheduler_command",
    "airflow.cli.commands.dag_processor_command",
    "airflow.cli.commands.triggerer_command",
    "airflow.cli.commands.api_server_command",
    "airflow.cli.commands.db_command",
    "airflow.jobs.scheduler_job_runner",
    "airflow.jobs.triggerer_job_runner",
    "airflow.dag_processing.manager",
    "airflow.api_fastapi.app",
    "airflow.executors.local_executor",
    "airflow.providers.amazon.aws.executors.ecs.ecs_executor",
    # a task, in its supervisor and its process
    "airflow.sdk.execution_time.execute_workload",
    "airflow.sdk.execution_time.supervisor",
    "airflow.sdk.execution_time.task_runner",
    # what the DAGs and the plugin use
    "airflow.providers.snowflake.hooks.snowflake",
    "airflow.providers.common.sql.operators.sql",
    "airflow.providers.amazon.aws.hooks.s3",
    "airflow.providers.amazon.aws.triggers.sqs",
    "airflow.providers.common.messaging.triggers.msg_queue",
    "airflow.providers.git.bundles.git",
    "snowflake.connector",
    "cosmos",
    "cosmos.operators.local",
    "cosmos.operators.watcher",
    "dbt.cli.main",
    "dbt.adapters.snowflake",
)


def main() -> None:
    os.environ["AIRFLOW_HOME"] = home = tempfile.mkdtemp(prefix="precompile-airflow-home-")
    try:
        for name in MODULES:
            importlib.import_module(name)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    airflow_package = Path(importlib.import_module("airflow").__file__).parent
    if not compileall.compile_dir(airflow_package, quiet=1, workers=0):
        sys.exit(f"compiling {airflow_package} failed")
    print(f"compiled: {len(MODULES)} entry modules imported, {len(sys.modules)} modules in all")


if __name__ == "__main__":
    main()
