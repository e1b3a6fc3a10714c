"""DAG integrity: the DAGs import, follow our policies, and parse without heavy imports."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

REPO = Path(__file__).parents[2]
DAGS = REPO / "airflow" / "dags"
PLUGINS = REPO / "airflow" / "plugins"
EXPECTED = {"snowflake_raw", "snowflake_analytics"}
# Imported by tasks at run time only; a DAG file importing them at top level parses slowly.
HEAVY_MODULES = [
    "snowflake.connector",
    "snowflake.snowpark",
    "pandas",
    "pyarrow",
    "duckdb",
    "boto3",
]


def _dagbag(folder: Path):
    from airflow.dag_processing.dagbag import DagBag

    # The DAGs' own sources file, even if the environment points elsewhere.
    with mock.patch.dict(os.environ):
        os.environ.pop("PIPELINE_SOURCES_FILE", None)
        return DagBag(dag_folder=str(folder))


@pytest.fixture(scope="module")
def dagbag():
    return _dagbag(DAGS)


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_policies(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.tags and "snowflake" in dag.tags
    assert dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == "data-engineering", task.task_id
        assert task.retries >= 1, task.task_id


def test_raw_has_one_load_task_per_source_with_its_asset(dagbag):
    dag = dagbag.dags["snowflake_raw"]
    outlets = {t.task_id: [a.name for a in t.outlets] for t in dag.tasks}
    assert outlets == {
        f"load_{name}": [f"raw.nycflights.{name}"]
        for name in ("flights", "weather", "airports", "airlines", "planes")
    }


def test_analytics_is_scheduled_on_the_raw_assets(dagbag):
    dag = dagbag.dags["snowflake_analytics"]
    names = {asset.name for asset in dag.timetable.asset_condition.objects}
    assert names == {
        f"raw.nycflights.{n}" for n in ("flights", "weather", "airports", "airlines", "planes")
    }
    assert {t.conn_id for t in dag.tasks} == {"snowflake_default"}
    sql_files = {p.stem for p in (DAGS / "sql").glob("*.sql")}
    built = {t.task_id.removeprefix("build_") for t in dag.tasks if t.task_id.startswith("build_")}
    assert built == sql_files


def test_bad_config_is_a_dag_import_error_naming_file_source_and_key(tmp_path):
    shutil.copytree(DAGS, tmp_path / "dags")
    config = tmp_path / "dags" / "config" / "sources.yml"
    config.write_text(config.read_text().replace("prefix: weather/", "prefx: weather/"))
    errors = _dagbag(tmp_path / "dags").import_errors
    assert set(Path(f).name for f in errors) == {"snowflake_raw.py", "snowflake_analytics.py"}
    for message in errors.values():
        assert str(config) in message
        assert "source 'weather', key 'prefx': unknown key" in message


@pytest.mark.parametrize("dag_file", ["snowflake_raw.py", "snowflake_analytics.py"])
def test_dag_files_parse_without_heavy_imports(dag_file):
    probe = (
        "import importlib.util, json, sys\n"
        f"sys.path.insert(0, {str(PLUGINS)!r})\n"
        f"spec = importlib.util.spec_from_file_location('d', {str(DAGS / dag_file)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        f"print(json.dumps([m for m in {HEAVY_MODULES!r} if m in sys.modules]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PIPELINE_SOURCES_FILE"}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
