"""DAG parse time: each DAG file parsed cold, in a fresh process, as the dag-processor would.

The probe (snowflake_pipeline.parse_probe) imports what the dag-processor has loaded before it
parses a file (Airflow, its SDK, the DagBag), then times the DagBag parse of one file: the DAG's
own imports, the config files and their validation, the DAG objects.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench.generated_sources import write_sources_file
from snowflake_pipeline.config import DAGS_DIR
from snowflake_pipeline.parse_probe import parse_dag_file

DAG_FILES = ("snowflake_raw.py", "snowflake_analytics.py")


def parse_once(dag_file: str, home: Path, sources_file: Path | None) -> float:
    parsed = parse_dag_file(DAGS_DIR / dag_file, home, sources_file)
    if parsed.errors or not parsed.tasks:
        raise RuntimeError(f"{dag_file} did not parse: {parsed.errors}")
    return parsed.seconds


def measure(runs: int, sources: int = 500, echo=print) -> dict[str, dict[str, float]]:
    """Median parse seconds per file, with the sample config and with `sources` sources."""
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        generated = write_sources_file(Path(tmp) / "sources.yml", sources)
        for label, sources_file in (("sample", None), (f"{sources}_sources", generated)):
            figures[label] = {}
            for dag_file in DAG_FILES:
                times = [parse_once(dag_file, Path(tmp), sources_file) for _ in range(runs)]
                figures[label][dag_file] = statistics.median(times)
                echo(f"  parse {dag_file} ({label} config): {statistics.median(times):.3f} s")
    return figures
