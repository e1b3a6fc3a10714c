"""DAG integrity: the DAGs import, follow our policies, and parse without heavy imports."""

import os
import shutil
from pathlib import Path
from unittest import mock

import pytest
import yaml

from snowflake_pipeline.dbt_project import PROJECT_DIR
from snowflake_pipeline.parse_probe import parse_dag_file

REPO = Path(__file__).parents[2]
DAGS = REPO / "airflow" / "dags"
EXPECTED = {"snowflake_raw", "snowflake_analytics"}
SAMPLE_SOURCES = ("flights", "weather", "airports", "airlines", "planes")


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
        # snowflake_analytics' one dbt build is not retried whole (its model tasks retry)
        assert task.retries >= 1 or task.task_id == "dbt_producer_watcher", task.task_id


def test_raw_loads_every_source_then_publishes_the_tables_that_got_rows(dagbag):
    dag = dagbag.dags["snowflake_raw"]
    loads = {f"load_{name}" for name in SAMPLE_SOURCES}
    assert {t.task_id for t in dag.tasks} == loads | {"publish_loaded_tables"}
    publish = dag.get_task("publish_loaded_tables")
    assert publish.upstream_task_ids == loads
    assert [type(o).__name__ for o in publish.outlets] == ["AssetAlias"]
    assert all(not dag.get_task(t).outlets for t in loads)


def test_analytics_is_scheduled_on_any_raw_table_its_models_read(dagbag):
    dag = dagbag.dags["snowflake_analytics"]
    assert type(dag.timetable.asset_condition).__name__ == "AssetAny"
    names = {asset.name for asset in dag.timetable.asset_condition.objects}
    assert names == {f"raw.nycflights.{n}" for n in SAMPLE_SOURCES}


def _models():
    return {p.stem: p for p in (PROJECT_DIR / "models").rglob("*.sql")}


def test_analytics_runs_one_dbt_build_and_a_task_per_model_publishing_its_table(dagbag):
    dag = dagbag.dags["snowflake_analytics"]
    producer = dag.get_task("dbt_producer_watcher")
    assert type(producer).__name__ == "DbtProducerWatcherOperator"
    # a failed build is not run again whole: each model's task retries its own model
    assert producer.retries == 0
    mapping = producer.profile_config.profile_mapping
    # the profile is the Airflow connection, mapped by Cosmos when a task runs
    assert type(mapping).__name__ == "SnowflakeConnectionProfileMapping"
    assert mapping.conn_id == "snowflake_default"
    published = {task.task_id: [o.name for o in task.outlets] for task in dag.tasks if task.outlets}
    assert sorted(name for names in published.values() for name in names) == sorted(
        f"analytics.nycflights.{model}" for model in _models()
    )
    for task_id in published:
        assert type(dag.get_task(task_id)).__name__ == "DbtRunWatcherOperator", task_id


def test_the_task_order_is_the_models_ref_graph_each_model_tested_after_it(dagbag):
    dag = dagbag.dags["snowflake_analytics"]
    upstream = {t.task_id: t.upstream_task_ids for t in dag.tasks}
    assert upstream["flights.run"] == {"stg_flights_run"}
    assert upstream["flights.test"] == {"flights.run"}
    assert upstream["delays_by_origin_quarter.run"] == {"flights.test", "dim_date.test"}
    assert upstream["stg_weather_run"] == set()


def test_the_build_writes_only_the_node_events_its_followers_read(dagbag):
    from cosmos.operators._watcher import base

    from snowflake_pipeline import cosmos_events

    assert "snowflake_analytics" in dagbag.dags  # parsing it installed the filter
    assert base._process_dbt_log_event is cosmos_events._write_lasting_events


def test_the_tasks_after_the_build_poke_it_each_second_longest_chain_first(dagbag):
    dag = dagbag.dags["snowflake_analytics"]
    followers = [t for t in dag.tasks if t.task_id != "dbt_producer_watcher"]
    # in their own process, not deferred to the triggerer (README, "Why the watcher mode")
    assert {(t.deferrable, t.poke_interval) for t in followers} == {(False, 1)}
    weight = {t.task_id: t.priority_weight for t in dag.tasks}
    chain = ["stg_flights_run", "flights.run", "flights.test", "flights_enriched.run"]
    assert [weight[t] for t in chain] == sorted((weight[t] for t in chain), reverse=True)
    assert weight["flights.run"] > weight["stg_planes.test"]
    assert weight["dbt_producer_watcher"] > max(t.priority_weight for t in followers)


def test_bad_config_is_a_dag_import_error_naming_file_source_and_key(tmp_path):
    shutil.copytree(DAGS, tmp_path / "dags")
    config = tmp_path / "dags" / "config" / "sources.yml"
    config.write_text(config.read_text().replace("prefix: weather/", "prefx: weather/"))
    errors = _dagbag(tmp_path / "dags").import_errors
    assert set(Path(f).name for f in errors) == {"snowflake_raw.py", "snowflake_analytics.py"}
    for message in errors.values():
        assert str(config) in message
        assert "source 'weather', key 'prefx': unknown key" in message


# The landing queue's AssetWatcher needs its trigger at parse time, and the SQS trigger (the
# amazon provider's, which common-messaging's MessageQueueTrigger returns) imports boto3: about
# 0.3 s per parse of snowflake_raw instead of 0.03 s, measured. Nothing else may.
WATCHER_IMPORTS = {"snowflake_raw.py": ["boto3"]}


@pytest.mark.parametrize("dag_file", ["snowflake_raw.py", "snowflake_analytics.py"])
def test_dag_files_parse_without_heavy_imports(tmp_path, dag_file):
    parsed = parse_dag_file(DAGS / dag_file, tmp_path)
    assert parsed.errors == {}
    assert list(parsed.tasks) == [dag_file.removesuffix(".py")]
    assert parsed.heavy_modules == WATCHER_IMPORTS.get(dag_file, [])


def test_without_events_snowflake_raw_parses_without_heavy_imports(tmp_path):
    config = yaml.safe_load((DAGS / "config" / "sources.yml").read_text())
    del config["events"]
    sources = tmp_path / "sources.yml"
    sources.write_text(yaml.safe_dump(config))
    parsed = parse_dag_file(DAGS / "snowflake_raw.py", tmp_path / "home", sources_file=sources)
    assert parsed.errors == {}
    assert parsed.heavy_modules == []
