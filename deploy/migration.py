"""Run `airflow db migrate` once, as a one-off Fargate task, while the components are stopped."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class MigrationError(RuntimeError):
    """The migration task failed; the message says where its log is."""


def run_migration(
    ecs: Any,
    cluster: str,
    task_definition: str,
    subnets: list[str],
    security_group: str,
    assign_public_ip: str,
    log_group: str,
    say: Callable[[str], None] = print,
    poll: float = 10.0,
) -> None:
    started = ecs.run_task(
        cluster=cluster,
        taskDefinition=task_definition,
        launchType="FARGATE",
        count=1,
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": subnets,
                "securityGroups": [security_group],
                "assignPublicIp": assign_public_ip,
            }
        },
    )
    if started.get("failures"):
        raise MigrationError(f"the migration task did not start: {started['failures']}")
    task_arn = started["tasks"][0]["taskArn"]
    say(f"  db migrate: {task_arn.rsplit('/', 1)[-1]} started")
    while True:
        (task,) = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
        if task["lastStatus"] == "STOPPED":
            break
        time.sleep(poll)
    (container,) = [c for c in task["containers"] if c["name"] == "db-migrate"]
    if container.get("exitCode") != 0:
        reason = container.get("reason") or task.get("stoppedReason", "")
        raise MigrationError(
            f"db migrate exited with {container.get('exitCode')} ({reason}); "
            f"its log is in CloudWatch group {log_group}, stream prefix db-migrate"
        )
    say("  db migrate: done")
