"""snowflake_analytics: build the dbt project (dbt/) when a raw table its models read got new rows.

Cosmos renders the project from its manifest (built with the image and by `make run`, never
here: no `dbt ls` at parse time): one task runs `dbt build` of the whole project, and a task per
model and per model's tests follows it, in the order of the models' own ref() graph; the raw
Assets this DAG is scheduled on are the sources they read. Each model's dbt tests run right after
it: a failing test fails the run, naming the model and the test, and the models downstream of it
do not build. The dbt profile is the Airflow connection snowflake_default,
through Cosmos's key-pair profile mapping. Every model publishes its table as an Asset.
"""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import AssetAny
from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from snowflake_pipeline.assets import table_asset
from snowflake_pipeline.config import load_config, sources_file
from snowflake_pipeline.cosmos_events import write_lasting_node_events_only
from snowflake_pipeline.dag_defaults import DEFAULT_ARGS, START_DATE
from snowflake_pipeline.dbt_project import (
    PROJECT_DIR,
    manifest_path,
    model_tables,
    profile_mapping,
    profile_name,
    raw_inputs,
    read_manifest,
)

HERE = Path(__file__).parent
write_lasting_node_events_only()
CONFIG = load_config(sources_file(HERE))
MANIFEST = read_manifest()
TABLES = model_tables(MANIFEST, HERE)

PROJECT = ProjectConfig(
    dbt_project_path=PROJECT_DIR,
    manifest_path=manifest_path(),
    project_name=MANIFEST["metadata"]["project_name"],
    install_dbt_deps=False,
)
# Cosmos wraps the manifest's path in Airflow's ObjectStoragePath, whose first use loads every
# provider's filesystem (the amazon provider's imports boto3: ~0.3 s per parse). It is a local
# file, in the image and in the repository: a plain path opens it.
PROJECT.manifest_path = manifest_path()

dag = DbtDag(
    dag_id="snowflake_analytics",
    description="Build the dbt project's models from the raw layer, each tested after its build",
    project_config=PROJECT,
    profile_config=ProfileConfig(
        profile_name=profile_name(),
        target_name="airflow",
        profile_mapping=profile_mapping(CONFIG, HERE),
    ),
    # One `dbt build` of the whole project (the producer task, dbt's Python runner in the task's
    # process) and one sensor task per model and per model's tests that follows it: dbt starts and
    # parses once per run instead of once per model (README, "Why the watcher mode").
    execution_config=ExecutionConfig(
        execution_mode=ExecutionMode.WATCHER,
        invocation_mode=InvocationMode.DBT_RUNNER,
        # A failed build is not run again whole: each model's task, on its retry, builds its own
        # model (Cosmos's fallback), so a transient error costs one model, a failed test fails.
        setup_operator_args={"retries": 0},
    ),
    render_config=RenderConfig(
        load_method=LoadMode.DBT_MANIFEST,
        # each model's tests right after it; dbt skips what is downstream of a failed test
        test_behavior=TestBehavior.AFTER_EACH,
        # our own Assets (below), named as snowflake_raw names its tables
        emit_datasets=False,
    ),
    # Any raw table a model reads that got new rows; snowflake_raw publishes them together at the
    # end of its run, so one raw run queues one build, and a run that loaded nothing queues none.
    schedule=AssetAny(*(table_asset(table) for table in raw_inputs(CONFIG, MANIFEST))),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["snowflake", "analytics", "dbt"],
    doc_md=__doc__,
)

# The tasks that follow the build read each model's (and each model's tests') result as dbt
# reports it. They poke every second in their own process: a result is there a moment after dbt
# finishes the node, and a task started after its upstream task usually finds it at once. With
# Cosmos's defaults (defer to the triggerer, which polls every 10 s once the build has started
# dbt, then a second task process to finish) they trailed the build by ~10 s. A task whose
# downstream chain is longer goes first when task slots are short (more downstream tasks, higher
# priority; the build's own priority stays above them all). README, "Why the watcher mode".
for task in dag.tasks:
    if task.task_id != "dbt_producer_watcher":
        task.deferrable = False
        task.poke_interval = 1
        task.priority_weight += len(task.get_flat_relative_ids(upstream=False))

# Each model's table is an Asset, published by the task that builds (or watches) the model.
for unique_id, task in dag.tasks_map.items():
    name = unique_id.split(".")[-1]
    if unique_id.startswith("model.") and name in TABLES:
        # a model with tests is a group: its run task, then its test task
        builds = [t for t in getattr(task, "children", {}).values() if t.task_id.endswith(".run")]
        for build in builds or [task]:
            build.outlets = [table_asset(TABLES[name])]
