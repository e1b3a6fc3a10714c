"""ECS for the ECS executor's tasks: what the scheduler starts with RunTask on moto runs here.

The scheduler's AwsEcsExecutor calls RunTask on moto with the worker task definition and a
container override (the workload command, an environment entry). moto records the task and
runs nothing; this agent polls the cluster, runs each new task's container with the worker task
definition and its override (`agent.TaskRunner`: the worker role's credentials, Secrets, limits,
awslogs), and stops the task on moto when the container exits, as ECS does, so the executor
sees it finish. moto keeps no exit code: a worker that fails shows as its task instance failing
through the execution API, and in this agent's record.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from deploy.rehearsal import aws
from deploy.rehearsal.agent import Rehearsal, Task, TaskRunner, inspect, last_lines

POLL_SECONDS = 1.0


def task_instance_of(definition: dict[str, Any]) -> tuple[str, str, str, int] | None:
    """(dag_id, run_id, task_id, map_index) of the Airflow task a worker task definition runs: the
    ECS executor's command carries the workload as JSON (`execute_workload --json-string`)."""
    (container,) = definition["ContainerDefinitions"]
    command = container.get("Command") or []
    if "--json-string" not in command:
        return None
    ti = json.loads(command[command.index("--json-string") + 1])["ti"]
    return ti["dag_id"], ti["run_id"], ti["task_id"], ti.get("map_index", -1)


@dataclass
class WorkerRun:
    task_arn: str
    runner: TaskRunner
    task_instance: tuple[str, str, str, int] | None
    exit_code: int | None = None
    last_log: str = ""  # of a worker that exited non-zero: why, for the rehearsal's report


class EcsAgent:
    def __init__(self, rehearsal: Rehearsal, cluster: str, worker: Task):
        self.r = rehearsal
        self.cluster = cluster
        self.worker = worker
        self.runs: dict[str, WorkerRun] = {}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ecs-agent", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    @property
    def runners(self) -> list[TaskRunner]:
        return [run.runner for run in self.runs.values()]

    def _loop(self) -> None:
        ecs = aws.client("ecs", self.r.host_endpoint, self.r.admin)
        while not self._stop.is_set():
            try:
                self._start_new(ecs)
                self._stop_exited(ecs)
            except Exception as error:  # noqa: BLE001 - recorded; the rehearsal reports it
                self.errors.append(f"{type(error).__name__}: {error}")
            self._stop.wait(POLL_SECONDS)

    def _start_new(self, ecs: Any) -> None:
        arns = ecs.list_tasks(cluster=self.cluster, desiredStatus="RUNNING")["taskArns"]
        new = [arn for arn in arns if arn not in self.runs]
        if not new:
            return
        for task in ecs.describe_tasks(cluster=self.cluster, tasks=new)["tasks"]:
            definition = self._with_override(task.get("overrides", {}))
            task_id = task["taskArn"].rsplit("/", 1)[-1][:12]
            runner = TaskRunner(self.r, Task(f"worker-{task_id}", definition))
            self.runs[task["taskArn"]] = WorkerRun(
                task["taskArn"], runner, task_instance_of(definition)
            )
            runner.start()
            self.r.say(f"  ecs agent: started worker task {task_id} for the executor")

    def _with_override(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """The worker task definition with RunTask's container override applied."""
        definition = copy.deepcopy(self.worker.definition)
        by_name = {c["Name"]: c for c in definition["ContainerDefinitions"]}
        for override in overrides.get("containerOverrides", []):
            container = by_name[override["name"]]
            if "command" in override:
                container["Command"] = override["command"]
            extra = [
                {"Name": e["name"], "Value": e["value"]} for e in override.get("environment", [])
            ]
            container["Environment"] = [*container.get("Environment", []), *extra]
        return definition

    def _stop_exited(self, ecs: Any) -> None:
        for run in self.runs.values():
            if run.exit_code is not None:
                continue
            (container,) = run.runner.task.containers
            state = inspect(self.r.engine, container.name)["State"]
            if state["Running"]:
                continue
            run.exit_code = state["ExitCode"]
            if run.exit_code != 0:
                run.last_log = last_lines(self.r.engine, container.name, 12)
            ecs.stop_task(
                cluster=self.cluster,
                task=run.task_arn,
                reason=f"Essential container in task exited ({run.exit_code})",
            )

    def wait_idle(self, timeout: float = 60) -> None:
        """Until every started worker has exited and been stopped on moto."""
        deadline = time.monotonic() + timeout
        while any(run.exit_code is None for run in self.runs.values()):
            if time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS)
