"""Run a task definition's containers on a Docker engine the way the ECS agent runs them.

Per task: a pause container holds the task's network namespace (awsvpc: every container of a task
shares localhost), its Cloud Map names (network aliases) and its published port, and the task's
Cpu/Memory. Per container: Command and EntryPoint, Environment, Secrets read with the execution
role's credentials, the task role's credentials, HealthCheck as declared, DependsOn order and
StopTimeout; its output is shipped to its awslogs group and stream on moto, with the execution
role's credentials, as the awslogs driver would.
"""

from __future__ import annotations

import contextlib
import json
import subprocess  # noqa: S404 - fixed docker argv, never a shell
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.containers.engine import DOCKER, Engine
from deploy.rehearsal import aws

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000


class TaskFailed(RuntimeError):
    """A container of a task did not do what ECS needs; the message names it and its log line."""


@dataclass
class Container:
    name: str  # docker container name
    definition: dict[str, Any]
    started: float = 0.0
    shipper: threading.Thread | None = None

    @property
    def short(self) -> str:
        return self.definition["Name"]


@dataclass
class Task:
    family: str
    definition: dict[str, Any]  # resolved AWS::ECS::TaskDefinition Properties
    pause: str = ""
    containers: list[Container] = field(default_factory=list)
    cgroup: str | None = None


@dataclass
class Rehearsal:
    """What every task of one rehearsal shares."""

    engine: Engine
    project: str  # prefix of every name
    network: str
    endpoint: str  # moto, as the containers reach it
    host_endpoint: str  # moto, as this process reaches it
    admin: aws.Credentials
    extra_env: dict[str, str]  # the rehearsal-only settings (endpoint, CA bundle)
    volumes: list[str]
    say: Callable[[str], None] = print


def _cpus(task: dict[str, Any]) -> float:
    return int(task["Cpu"]) / 1024


def _cpu_shares(task: dict[str, Any]) -> int:
    """The task's CPU units as its weight when the cores are busy (ECS on EC2 sets cpu.shares
    from them): a 0.25 vCPU worker weighs half of dev's 0.5 vCPU combined task, not as much."""
    return max(2, int(task["Cpu"]))


def _memory_mib(task: dict[str, Any]) -> int:
    return int(task["Memory"])


class TaskRunner:
    def __init__(self, rehearsal: Rehearsal, task: Task, aliases=(), publish: str | None = None):
        self.r = rehearsal
        self.task = task
        self.aliases = list(aliases)
        self.publish = publish
        self.task_id = f"{task.family}-{int(time.time())}"
        definition = task.definition
        self.task_credentials = aws.assume(
            rehearsal.host_endpoint, rehearsal.admin, definition["TaskRoleArn"], self.task_id
        )
        self.execution_credentials = aws.assume(
            rehearsal.host_endpoint,
            rehearsal.admin,
            definition["ExecutionRoleArn"],
            f"{self.task_id}-execution",
        )

    # --- the task ------------------------------------------------------------------------
    def start(self) -> Task:
        definition = self.task.definition
        multi = len(definition["ContainerDefinitions"]) > 1
        self.task.cgroup = self._task_cgroup() if multi else None
        self.task.pause = f"{self.r.project}-{self.task.family}-pause"
        argv = ["run", "--detach", "--name", self.task.pause, "--network", self.r.network]
        for alias in self.aliases:
            argv += ["--network-alias", alias]
        if self.publish:
            argv += ["--publish", self.publish]
        image = definition["ContainerDefinitions"][0]["Image"]
        argv += ["--entrypoint", "sleep", image, "infinity"]
        self.r.engine.docker(*argv)
        for definition_ in definition["ContainerDefinitions"]:
            self._wait_dependencies(definition_)
            self.task.containers.append(self._run(definition_, multi))
        return self.task

    def _task_cgroup(self) -> str | None:
        """Task-level limits, as Fargate sets them: a parent cgroup of the task's containers.
        Only where the engine runs on this machine with cgroupfs v1 and we may write it."""
        cpu_dir, memory_dir = CGROUP_ROOT / "cpu", CGROUP_ROOT / "memory"
        if not self.r.engine.started_pid or not (cpu_dir / "cpu.cfs_quota_us").exists():
            return None
        # under our dockerd's weighted group, as its other containers (engine.CONTAINER_CGROUP)
        name = f"{self.r.engine.cgroup_parent or ''}/{self.r.project}-{self.task.family}"
        name = name.lstrip("/")
        try:
            (cpu_dir / name).mkdir(parents=True, exist_ok=True)
            (cpu_dir / name / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            quota = int(_cpus(self.task.definition) * CPU_PERIOD_US)
            (cpu_dir / name / "cpu.cfs_quota_us").write_text(str(quota))
            (cpu_dir / name / "cpu.shares").write_text(str(_cpu_shares(self.task.definition)))
            (memory_dir / name).mkdir(parents=True, exist_ok=True)
            limit = _memory_mib(self.task.definition) * 2**20
            (memory_dir / name / "memory.limit_in_bytes").write_text(str(limit))
        except OSError:
            return None
        return f"/{name}"

    def _limits(self, multi: bool) -> list[str]:
        definition = self.task.definition
        if multi and self.task.cgroup:
            return ["--cgroup-parent", self.task.cgroup]
        # one container, or an engine we cannot reach the cgroups of: the task's limits on each
        cpus, shares = f"{_cpus(definition):g}", str(_cpu_shares(definition))
        return ["--cpus", cpus, "--cpu-shares", shares, "--memory", f"{_memory_mib(definition)}m"]

    # --- one container --------------------------------------------------------------------
    def _environment(self, definition: dict[str, Any]) -> dict[str, str]:
        values = {item["Name"]: str(item["Value"]) for item in definition.get("Environment", [])}
        sm = aws.client("secretsmanager", self.r.host_endpoint, self.execution_credentials)
        ssm = aws.client("ssm", self.r.host_endpoint, self.execution_credentials)
        for item in definition.get("Secrets", []):
            try:
                values[item["Name"]] = aws.resolve_secret(sm, ssm, item["ValueFrom"])
            except Exception as error:  # noqa: BLE001 - any failure stops the task in ECS too
                raise TaskFailed(
                    f"{self.task.family}/{definition['Name']}: ResourceInitializationError: "
                    f"secret {item['Name']} from {item['ValueFrom']}: {error}"
                ) from None
        values.update(self.task_credentials.env())
        values.update(self.r.extra_env)
        return values

    def _run(self, definition: dict[str, Any], multi: bool) -> Container:
        name = f"{self.r.project}-{self.task.family}-{definition['Name']}"
        env = self._environment(definition)
        argv = ["run", "--detach", "--name", name, "--network", f"container:{self.task.pause}"]
        argv += self._limits(multi)
        argv += ["--stop-timeout", str(definition.get("StopTimeout", 30))]
        for volume in self.r.volumes:
            argv += ["--volume", volume]
        for key in env:
            argv += ["--env", key]  # values from the CLI's environment: never on the command line
        argv += _health_flags(definition.get("HealthCheck"))
        entrypoint = definition.get("EntryPoint") or []
        if entrypoint:
            argv += ["--entrypoint", entrypoint[0]]
        argv += [definition["Image"], *entrypoint[1:], *definition.get("Command", [])]
        self.r.engine.docker(*argv, env=self.r.engine.env(**env))
        container = Container(name, definition, time.monotonic())
        container.shipper = threading.Thread(target=self._ship_logs, args=(container,), daemon=True)
        container.shipper.start()
        return container

    def _wait_dependencies(self, definition: dict[str, Any], timeout: float = 600) -> None:
        for dependency in definition.get("DependsOn", []):
            other = self.container(dependency["ContainerName"])
            wanted = dependency["Condition"]
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                state = inspect(self.r.engine, other.name)["State"]
                exited = state["Status"] == "exited"
                if wanted == "START" and state["Running"]:
                    break
                if wanted == "HEALTHY" and state.get("Health", {}).get("Status") == "healthy":
                    break
                if wanted == "COMPLETE" and exited:
                    break
                if wanted == "SUCCESS" and exited:
                    if state["ExitCode"] != 0:
                        raise TaskFailed(f"{other.short} exited {state['ExitCode']}")
                    break
                time.sleep(1)
            else:
                raise TaskFailed(f"{definition['Name']}: {other.short} never reached {wanted}")

    def container(self, short: str) -> Container:
        for container in self.task.containers:
            if container.short == short:
                return container
        raise KeyError(short)

    def _ship_logs(self, container: Container) -> None:
        """awslogs: <prefix>/<container name>/<task id> in the group, with the execution role."""
        options = container.definition.get("LogConfiguration", {}).get("Options", {})
        group = options.get("awslogs-group")
        if not group:
            return
        stream = f"{options['awslogs-stream-prefix']}/{container.short}/{self.task_id}"
        logs = aws.client("logs", self.r.host_endpoint, self.execution_credentials)
        try:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        except Exception as error:  # noqa: BLE001 - the awslogs driver fails the container too
            self.r.say(f"  awslogs: {container.name}: CreateLogStream failed: {error}")
            return
        process = subprocess.Popen(  # noqa: S603 - fixed docker argv
            [DOCKER, "logs", "--follow", "--timestamps", container.name],
            env=self.r.engine.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert process.stdout is not None
        batch: list[dict] = []
        last = time.monotonic()
        for line in process.stdout:
            stamp, _, message = line.rstrip("\n").partition(" ")
            batch.append({"timestamp": int(time.time() * 1000), "message": message or " "})
            if len(batch) >= 200 or time.monotonic() - last > 2:
                _put(logs, group, stream, batch, self.r.say)
                batch, last = [], time.monotonic()
        if batch:
            _put(logs, group, stream, batch, self.r.say)
        process.wait()

    # --- state and stop --------------------------------------------------------------------
    def states(self) -> dict[str, dict[str, Any]]:
        return {c.short: inspect(self.r.engine, c.name)["State"] for c in self.task.containers}

    def stop(self) -> dict[str, tuple[float, int, int]]:
        """`docker stop -t StopTimeout` in reverse order (dependents first, as ECS does):
        seconds, exit code and StopTimeout of each container."""
        done = {}
        for container in reversed(self.task.containers):
            timeout = int(container.definition.get("StopTimeout", 30))
            started = time.monotonic()
            self.r.engine.docker("stop", "--time", str(timeout), container.name, check=False)
            state = inspect(self.r.engine, container.name)["State"]
            done[container.short] = (time.monotonic() - started, state["ExitCode"], timeout)
        for container in self.task.containers:
            if container.shipper:
                container.shipper.join(timeout=15)
        return done

    def remove(self) -> None:
        names = [c.name for c in self.task.containers] + [self.task.pause]
        self.r.engine.docker("rm", "--force", "--volumes", *names, check=False)
        if self.task.cgroup:
            for controller in ("cpu", "memory"):
                # the engine removes its children asynchronously; a leftover is harmless
                with contextlib.suppress(OSError):
                    (CGROUP_ROOT / controller / self.task.cgroup.lstrip("/")).rmdir()


def _put(logs: Any, group: str, stream: str, batch: list[dict], say) -> None:
    try:
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
    except Exception as error:  # noqa: BLE001 - reported, the container keeps running
        say(f"  awslogs: {stream}: PutLogEvents failed: {error}")


def health_argv(check: dict[str, Any]) -> list[str]:
    """The argv a HealthCheck's Command runs: CMD as given, CMD-SHELL through `sh -c`."""
    kind, *command = check["Command"]
    return ["sh", "-c", command[0]] if kind == "CMD-SHELL" else command


def _health_flags(check: dict[str, Any] | None) -> list[str]:
    """The task definition's HealthCheck; none declared, none run (ECS ignores the image's)."""
    if not check:
        return ["--no-healthcheck"]
    argv = health_argv(check)
    shell = argv[2] if argv[:2] == ["sh", "-c"] else subprocess.list2cmdline(argv)
    return [
        "--health-cmd", shell,
        "--health-interval", f"{check.get('Interval', 30)}s",
        "--health-timeout", f"{check.get('Timeout', 5)}s",
        "--health-retries", str(check.get("Retries", 3)),
        "--health-start-period", f"{check.get('StartPeriod', 0)}s",
    ]  # fmt: skip


def inspect(engine: Engine, name: str) -> dict[str, Any]:
    return json.loads(engine.docker("inspect", name).stdout)[0]


def last_lines(engine: Engine, name: str, count: int = 20) -> str:
    done = engine.docker("logs", "--tail", str(count), name, check=False)
    return (done.stdout + done.stderr).strip()
