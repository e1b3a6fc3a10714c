"""The rehearsal's AWS: `moto.server`, with ECS answering as the ECS executor needs.

Run inside the rehearsal's moto container (mounted read-only; moto is in the dev image):
`python moto_server.py -H 0.0.0.0 -p 5000`. Two gaps of moto 5.2.5 that only the ECS executor
meets, and nothing else is changed:
- `StopTask` of an unknown task raises a bare Exception (HTTP 500), where ECS answers
  InvalidParameterException "The referenced task was not found."; the executor's health check
  stops a made-up task and counts only that answer as healthy.
- Tasks leave RUNNING by themselves after a few DescribeTasks; here a task runs until it is
  stopped, as on ECS, where its container's exit stops it (the rehearsal's agent does that).
- Tasks have no `startedAt` (the executor takes a stopped task without it for one that never
  started, and runs it again) and their containers always exit 0: here a task has started when
  RunTask placed it, and StopTask's reason "Essential container in task exited (N)" (what ECS
  writes, and the agent passes) sets its containers' exit code N.
"""

from __future__ import annotations

import re
import sys

from moto.core.utils import utcnow
from moto.ecs import models
from moto.ecs.exceptions import InvalidParameterException
from moto.moto_api import state_manager
from moto.server import main

EXITED = re.compile(r"exited \((-?\d+)\)")
_stop_task = models.EC2ContainerServiceBackend.stop_task
_task_init = models.Task.__init__


def task_init(self, *args, **kwargs):
    _task_init(self, *args, **kwargs)
    self.started_at = utcnow()


def stop_task(self, cluster_str: str, task_str: str, reason: str):
    cluster = self._get_cluster(cluster_str)  # ClusterNotFoundException stays as it is
    task_id = task_str.split("/")[-1]
    if not any(arn.endswith(task_id) for arn in self.tasks.get(cluster.name, {})):
        raise InvalidParameterException("The referenced task was not found.")
    task = _stop_task(self, cluster_str, task_str, reason)
    task.stopped_at = utcnow()
    exited = EXITED.search(reason or "")
    if exited:
        for container in task.containers:
            container.exitCode = int(exited.group(1))
            container.last_status = "STOPPED"
    return task


models.Task.__init__ = task_init
models.EC2ContainerServiceBackend.stop_task = stop_task
state_manager.set_transition("ecs::task", {"progression": "manual", "times": sys.maxsize})

if __name__ == "__main__":
    main(sys.argv[1:])
