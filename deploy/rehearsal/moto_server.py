"""The rehearsal's AWS: `moto.server`, with ECS answering as the ECS executor needs.

Run inside the rehearsal's moto container (mounted read-only; moto is in the dev image):
`python moto_server.py -H 0.0.0.0 -p 5000`. Two gaps of moto 5.2.5 that only the ECS executor
meets, and nothing else is changed:
- `StopTask` of an unknown task raises a bare Exception (HTTP 500), where ECS answers
  InvalidParameterException "The referenced task was not found."; the executor's health check
  stops a made-up task and counts only that answer as healthy.
- Tasks leave RUNNING by themselves after a few DescribeTasks; here a task runs until it is
  stopped, as on ECS, where its container's exit stops it (the rehearsal's agent does that).
"""

from __future__ import annotations

import sys

from moto.ecs import models
from moto.ecs.exceptions import InvalidParameterException
from moto.moto_api import state_manager
from moto.server import main

_stop_task = models.EC2ContainerServiceBackend.stop_task


def stop_task(self, cluster_str: str, task_str: str, reason: str):
    cluster = self._get_cluster(cluster_str)  # ClusterNotFoundException stays as it is
    task_id = task_str.split("/")[-1]
    if not any(arn.endswith(task_id) for arn in self.tasks.get(cluster.name, {})):
        raise InvalidParameterException("The referenced task was not found.")
    return _stop_task(self, cluster_str, task_str, reason)


models.EC2ContainerServiceBackend.stop_task = stop_task
state_manager.set_transition("ecs::task", {"progression": "manual", "times": sys.maxsize})

if __name__ == "__main__":
    main(sys.argv[1:])
