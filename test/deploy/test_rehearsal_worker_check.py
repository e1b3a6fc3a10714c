"""The rehearsal's ECS executor check: every task instance of the pipeline's runs ran in a worker
task, and a worker ran nothing else but a run the scheduler started on its own (the @daily
safety schedule firing at midnight UTC during a rehearsal failed the check before)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from deploy.rehearsal.agent import Task, TaskFailed
from deploy.rehearsal.ecs_agent import WorkerRun
from deploy.rehearsal.run import ProfileRehearsal

RAW, ANALYTICS = "snowflake_raw", "snowflake_analytics"
MANUAL, SCHEDULED = "manual__2026-12-05T23:56:36", "scheduled__2026-12-06T00:00:00+00:00"


class Agent:
    def __init__(self, task_instances):
        self.errors = []
        self.runs = {
            str(n): WorkerRun(str(n), None, ti, exit_code=0) for n, ti in enumerate(task_instances)
        }

    def wait_idle(self):
        pass


class Api:
    def __init__(self, runs: dict[str, list[tuple[str, str]]]):
        self.runs = runs

    def dag_runs(self, dag_id, limit=20):
        return [{"dag_run_id": r, "run_type": t} for r, t in self.runs.get(dag_id, [])]


def _rehearsal(ours, ran, runs) -> ProfileRehearsal:
    rehearsal = object.__new__(ProfileRehearsal)
    rehearsal.task_instances = set(ours)
    rehearsal.ecs_agent = Agent(ran)
    rehearsal.api = Api(runs)
    worker = Task("worker", {"Cpu": "256", "Memory": "1024"})
    rehearsal._task = lambda logical: worker  # the resolved template is not the subject
    return rehearsal


OURS = [(RAW, MANUAL, f"load_{name}", -1) for name in ("airlines", "flights")]
MIDNIGHT = [(RAW, SCHEDULED, f"load_{name}", -1) for name in ("airlines", "flights", "planes")]


def test_task_instances_of_a_scheduled_run_count_and_are_named():
    runs = {RAW: [(MANUAL, "manual"), (SCHEDULED, "scheduled")]}
    detail = _rehearsal(OURS, OURS + MIDNIGHT, runs)._worker_tasks()
    assert detail.startswith("5 task instances (3 of a scheduled run) in 5 worker tasks"), detail


def test_a_worker_of_a_run_that_is_not_scheduled_fails_the_check():
    stray = (RAW, "manual__someone-else", "load_planes", -1)
    runs = {RAW: [(MANUAL, "manual"), ("manual__someone-else", "manual")]}
    with pytest.raises(TaskFailed, match="not a task instance of the runs: .*someone-else"):
        _rehearsal(OURS, [*OURS, stray], runs)._worker_tasks()


def test_a_task_instance_that_ran_in_no_worker_fails_the_check():
    runs = {RAW: [(MANUAL, "manual"), (SCHEDULED, "scheduled")]}
    with pytest.raises(TaskFailed, match="ran in no worker: .*load_flights"):
        _rehearsal(OURS, OURS[:1] + MIDNIGHT, runs)._worker_tasks()


def test_a_worker_that_exited_non_zero_fails_the_check():
    rehearsal = _rehearsal(OURS, OURS, {RAW: [(MANUAL, "manual")]})
    rehearsal.ecs_agent.runs["0"].exit_code = 1
    with pytest.raises(TaskFailed, match=r"exit codes \['0', '1'\]"):
        rehearsal._worker_tasks()


def test_the_runs_of_both_dags_are_read():
    api = SimpleNamespace(
        dag_runs=lambda dag_id, limit=20: (
            [{"dag_run_id": SCHEDULED, "run_type": "scheduled"}] if dag_id == ANALYTICS else []
        )
    )
    rehearsal = object.__new__(ProfileRehearsal)
    rehearsal.api = api
    assert rehearsal._scheduled_runs() == {(ANALYTICS, SCHEDULED)}
