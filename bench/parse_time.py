"""DAG parse time: each DAG file parsed cold, in a fresh process, as the dag-processor would.

The probe imports what the dag-processor has loaded before it parses a file (Airflow, its SDK,
the DagBag), then times the DagBag parse of one file: the DAG's own imports, the sources config
and its validation, the DAG objects.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.generated_sources import write_sources_file
from local.settings import REPO

DAGS = REPO / "airflow" / "dags"
DAG_FILES = ("snowflake_raw.py", "snowflake_analytics.py")
PROBE = """
import json, sys, time
import airflow, airflow.sdk
from airflow.dag_processing.dagbag import DagBag
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False, load_op_links=False)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "dags": sorted(bag.dag_ids),
                  "errors": {k: v[-500:] for k, v in bag.import_errors.items()}}))
"""


def _env(home: Path, sources_file: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PIPELINE_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "airflow" / "plugins"),
        PYTHONPATH=str(REPO / "airflow" / "plugins"),
    )
    if sources_file:
        env["PIPELINE_SOURCES_FILE"] = str(sources_file)
    return env


def parse_once(dag_file: str, env: dict[str, str]) -> float:
    result = subprocess.run(  # noqa: S603 - our own probe
        [sys.executable, "-c", PROBE, str(DAGS / dag_file)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    if parsed["errors"] or not parsed["dags"]:
        raise RuntimeError(f"{dag_file} did not parse: {parsed['errors']}")
    return parsed["seconds"]


def measure(runs: int, sources: int = 500, echo=print) -> dict[str, dict[str, float]]:
    """Median parse seconds per file, with the sample config and with `sources` sources."""
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        generated = write_sources_file(Path(tmp) / "sources.yml", sources)
        for label, sources_file in (("sample", None), (f"{sources}_sources", generated)):
            env = _env(Path(tmp), sources_file)
            figures[label] = {}
            for dag_file in DAG_FILES:
                times = [parse_once(dag_file, env) for _ in range(runs)]
                figures[label][dag_file] = statistics.median(times)
                echo(f"  parse {dag_file} ({label} config): {statistics.median(times):.3f} s")
    return figures
