"""The rehearsal's ECS agent knows which Airflow task each worker task ran, from the command the
amazon provider's ECS executor itself builds: a deferred sensor resumed in a second worker is the
same task instance, not an extra one."""

import uuid

from airflow.executors import workloads
from airflow.providers.amazon.aws.executors.ecs.ecs_executor import AwsEcsExecutor

from deploy.rehearsal.ecs_agent import task_instance_of


def _workload(task_id: str, try_number: int) -> workloads.ExecuteTask:
    ti = workloads.TaskInstance(
        id=uuid.uuid4(),
        task_id=task_id,
        dag_id="snowflake_analytics",
        run_id="asset_triggered__2026-12-05",
        try_number=try_number,
        dag_version_id=uuid.uuid4(),
        pool_slots=1,
        queue="default",
        priority_weight=1,
    )
    return workloads.ExecuteTask(
        token="not-a-real-token",
        dag_rel_path="snowflake_analytics.py",
        bundle_info=workloads.BundleInfo(name="dags-folder", version=None),
        log_path="dag_id=snowflake_analytics/run_id=x/task_id=y/attempt=1.log",
        ti=ti,
    )


def _ran(command: list[str] | None):
    container = {"Name": "worker", "Image": "img", **({"Command": command} if command else {})}
    return task_instance_of({"Family": "worker", "ContainerDefinitions": [container]})


def test_each_worker_names_the_task_instance_its_command_runs():
    command = AwsEcsExecutor._serialize_workload_to_command(_workload("flights.run", 1))
    resumed = AwsEcsExecutor._serialize_workload_to_command(_workload("flights.run", 1))
    other = AwsEcsExecutor._serialize_workload_to_command(_workload("dim_date.run", 2))
    key = ("snowflake_analytics", "asset_triggered__2026-12-05", "flights.run", -1)
    assert _ran(command) == key
    assert {_ran(c) for c in (command, resumed, other)} == {
        key,
        (*key[:2], "dim_date.run", -1),
    }
    assert _ran(None) is None
