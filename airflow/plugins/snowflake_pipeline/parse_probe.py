"""Parse one DAG file in a new process, as Airflow's dag-processor does, and report what it saw.

One probe serves the DAG-integrity test (no heavy module imported at parse time), the scale test
(a large config within Airflow's import timeout) and the parse-time benchmark. It lives with the
plugins because the image's own test run has the plugins but not the local tooling.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - runs this interpreter on our own probe
import sys
from dataclasses import dataclass
from pathlib import Path

from snowflake_pipeline.config import DAGS_DIR, SOURCES_FILE_ENV
from snowflake_pipeline.events import QUEUE_URL_ENV

# Imported by tasks at run time only; a DAG file importing them at top level parses slowly.
HEAVY_MODULES = (
    "snowflake.connector",
    "snowflake.snowpark",
    "pandas",
    "pyarrow",
    "duckdb",
    "boto3",
    "dbt",  # dbt-core: Cosmos reads the manifest at parse time, dbt runs in the tasks only
)
# What the dag-processor has imported before it parses a file is not the file's doing.
_PROBE = """
import json, sys, time
import airflow, airflow.sdk
from airflow.dag_processing.dagbag import DagBag
heavy = json.loads(sys.argv[2])
before = set(sys.modules)
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1], bundle_path=sys.argv[1].rsplit("/", 1)[0],
             safe_mode=False, load_op_links=False)
seconds = time.perf_counter() - started
print(json.dumps({
    "seconds": seconds,
    "tasks": {dag_id: len(dag.tasks) for dag_id, dag in bag.dags.items()},
    "errors": {path: str(error) for path, error in bag.import_errors.items()},
    "heavy_modules": [m for m in heavy if m in sys.modules and m not in before],
}))
"""


@dataclass(frozen=True)
class Parsed:
    seconds: float
    tasks: dict[str, int]  # dag id -> number of tasks
    errors: dict[str, str]  # file -> import error
    heavy_modules: list[str]  # of HEAVY_MODULES, those the parse imported


def parse_dag_file(
    dag_file: str | Path,
    airflow_home: str | Path,
    sources_file: str | Path | None = None,
) -> Parsed:
    """Parse `dag_file` with a clean Airflow environment (home `airflow_home`, the DAGs' own
    sources file unless `sources_file`)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != SOURCES_FILE_ENV
    }
    env.update(
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_DIR),
        # Airflow puts its plugins folder on sys.path, as in every component.
        AIRFLOW__CORE__PLUGINS_FOLDER=str(Path(__file__).resolve().parents[1]),
    )
    # `events:` needs the queue's URL to build the watcher; parsing never contacts it.
    env.setdefault(QUEUE_URL_ENV, "http://127.0.0.1:9/123456789012/parse-probe")
    if sources_file is not None:
        env[SOURCES_FILE_ENV] = str(sources_file)
    result = subprocess.run(  # noqa: S603 # nosec B603 - this interpreter, our probe
        [sys.executable, "-c", _PROBE, str(dag_file), json.dumps(HEAVY_MODULES)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"parsing {dag_file} crashed:\n{result.stderr[-3000:]}")
    return Parsed(**json.loads(result.stdout.strip().splitlines()[-1]))
