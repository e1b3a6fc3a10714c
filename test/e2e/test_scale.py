"""Scale: 100 configured sources, one of them with 1,000 files in its prefix.

Loads use the source's prefix, not a FILES list, so Snowflake's limit of 1,000 names per FILES
list never applies; the load metadata still skips files already loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from local.settings import REPO

from . import data

pytestmark = pytest.mark.e2e
SOURCES = 100
EVENT_FILES = 1000
COLUMNS = [
    {"name": "id", "type": "INTEGER", "required": True},
    {"name": "kind", "type": "VARCHAR"},
    {"name": "amount", "type": "NUMBER(12,2)"},
]


def _csv(first_id: int, rows: int) -> str:
    lines = ["id,kind,amount"]
    lines += [f"{first_id + i},kind-{i % 3},{(first_id + i) * 1.25:.2f}" for i in range(rows)]
    return "\n".join(lines) + "\n"


def scale_config(sample_file) -> dict:
    """The five sample sources, then generated CSV sources up to SOURCES; the last is `events`."""
    config = yaml.safe_load(sample_file.read_text())
    csv_format = {"type": "csv", "skip_header": 1}
    generated = [
        {
            "name": f"gen_{i:03d}",
            "prefix": f"scale/gen_{i:03d}/",
            "format": csv_format,
            "table": f"gen_{i:03d}",
            "columns": COLUMNS,
        }
        for i in range(SOURCES - len(config["sources"]) - 1)
    ]
    events = {
        "name": "events",
        "prefix": "scale/events/",
        "format": csv_format,
        "table": "events",
        "columns": COLUMNS,
    }
    config["sources"] = [*config["sources"], *generated, events]
    return config


def test_a_100_source_config_parses_within_airflows_import_timeout_of_1_s(tmp_path):
    """A cold parse in a new process, under dagbag_import_timeout = 1 s (Airflow enforces it).

    Only snowflake_raw grows with the sources; `make bench` measures both files' parse times.
    """
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(scale_config(REPO / "airflow/dags/config/sources.yml")))
    script = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1], bundle_path=sys.argv[1].rsplit('/', 1)[0])\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()},"
        " 'tasks': {d: len(dag.tasks) for d, dag in bag.dags.items()}}))\n"
    )
    env = {
        **os.environ,
        "PIPELINE_SOURCES_FILE": str(path),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "1",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "airflow" / "plugins"), str(REPO)]),
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script, str(REPO / "airflow" / "dags" / "snowflake_raw.py")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert parsed == {"errors": {}, "tasks": {"snowflake_raw": SOURCES}}


def test_100_sources_and_a_1000_file_prefix_load_exactly(stack, snowflake, s3, sources_file):
    _, api = stack
    config_data = scale_config(sources_file)
    generated = config_data["sources"][5:]
    next_id = 1
    for source in generated[:-1]:
        rows = int(source["name"][-3:]) % 5 + 1
        data.put(s3, f"landing/{source['prefix']}part-0.csv", _csv(next_id, rows))
        next_id += rows
    for i in range(EVENT_FILES):
        data.put(s3, f"landing/scale/events/{i:04d}.csv", _csv(next_id, 3))
        next_id += 3

    sources_file.write_text(yaml.safe_dump(config_data, sort_keys=False))
    data.wait_for(
        lambda: len(api.task_ids("snowflake_raw")) == SOURCES,
        120,
        "the dag-processor to re-parse snowflake_raw with 100 sources",
        interval=2,
    )
    config = data.config_of(sources_file)

    run = data.run_raw(api, timeout=1800)

    assert run.state == "success", run.failed_tasks
    assert len(run.tasks) == SOURCES
    counts = data.raw_counts(snowflake, config)
    assert counts == data.expected_raw_counts(s3, config)
    assert counts["raw.nycflights.events"] == EVENT_FILES * 3
    assert data.files_loaded_twice(snowflake, config) == []
    with snowflake.cursor() as cur:
        (loaded,) = cur.execute(
            f"SELECT COUNT(*) FROM {config.audit_table} "
            "WHERE source = 'events' AND status = 'LOADED' AND dag_run_id = %s",
            (run.run_id,),
        ).fetchone()
    assert loaded == EVENT_FILES
