"""Find a Docker engine, or start one of our own, and drive it with the docker CLI.

Order: `DOCKER_HOST` when set (and nothing else: the user chose it); else the CLI's default
(socket or context: Docker Desktop works unchanged); else, as root on Debian, Debian's
`docker.io` installed if needed and a `dockerd` of our own whose data root, exec root, pid file
and socket live in a state folder of ours. Only an engine we started is stopped, by its PID.
Every docker call goes through `Engine.env()`, so a user's other engines are never addressed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess  # noqa: S404 - fixed docker/apt argv, never a shell
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKER = shutil.which("docker") or "docker"  # the CLI; which engine it talks to is DOCKER_HOST
DEFAULT_STATE_DIR = REPO / ".local" / "containers"
DEBIAN_PACKAGES = ("docker.io",)
CGROUP_CPU = Path("/sys/fs/cgroup/cpu")  # cgroup v1's cpu controller (none under v2)
# The cgroup our own dockerd puts every container in, and its weight: a busy process outside
# it weighs 1024, and the default group of a dockerd weighs 1024 in all, however many
# containers it holds. On a machine that also runs the end-to-end stacks, each container (a
# task limited to its Fargate vCPU, a compose service) would then get a fraction of its
# reservation; with this weight the containers get up to about 4 busy processes' worth.
CONTAINER_CGROUP = "/airflow-snowflake-fargate"
CONTAINER_CPU_SHARES = 4096


def progress(message: str) -> None:
    """A timestamped progress line on stderr, outside any output capture (builds take minutes)."""
    stream = sys.__stderr__ or sys.stderr
    stream.write(f"[containers {time.strftime('%H:%M:%S')}] {message}\n")
    stream.flush()


class EngineUnavailable(RuntimeError):
    """No Docker engine is reachable and none can be started here; the message says why."""


@dataclass
class Engine:
    docker_host: str | None  # None: the CLI's own default (socket or context)
    started_pid: int | None = None  # set only when we started this dockerd
    state_dir: Path | None = None
    description: str = ""
    cgroup_parent: str | None = None  # our dockerd's --cgroup-parent, where we could set it
    _extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, **self._extra_env, **extra)
        if self.docker_host:
            env["DOCKER_HOST"] = self.docker_host
        else:
            env.pop("DOCKER_HOST", None)
        return env

    def docker(self, *args: str, check: bool = True, capture: bool = True, env=None, **kwargs):
        """Run `docker ARGS` against this engine; returns the CompletedProcess. `env` (from
        `env()`) carries values that `--env NAME` passes on without putting them in the argv."""
        return subprocess.run(  # noqa: S603 - fixed argv
            [DOCKER, *args],
            env=env or self.env(),
            check=check,
            text=True,
            capture_output=capture,
            **kwargs,
        )

    def image_exists(self, ref: str) -> bool:
        return self.docker("image", "inspect", ref, check=False).returncode == 0

    def classic_builder(self) -> bool:
        """True when the CLI has no buildx: then only the classic builder can build."""
        return self.docker("buildx", "version", check=False).returncode != 0

    def build(
        self,
        context: Path,
        tag: str,
        say: Callable[[str], None] = progress,
        build_args: dict[str, str] | None = None,
        target: str | None = None,
    ) -> Path:
        """`docker build`: BuildKit where the CLI has buildx, else the classic builder.

        The output goes to a log file (returned); each build step is echoed as progress. A
        failure raises with the log's tail.
        """
        argv = [DOCKER, "build", "--tag", tag]
        for key, value in (build_args or {}).items():
            argv += ["--build-arg", f"{key}={value}"]
        if target:
            argv += ["--target", target]
        argv.append(str(context))
        log_dir = (self.state_dir or DEFAULT_STATE_DIR) / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"build-{tag.replace('/', '_').replace(':', '_')}.log"
        buildkit = "0" if self.classic_builder() else "1"
        env = self.env(DOCKER_BUILDKIT=buildkit, BUILDKIT_PROGRESS="plain")
        with log_path.open("w") as log:
            process = subprocess.Popen(  # noqa: S603 - fixed argv
                argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            assert process.stdout is not None
            for line in process.stdout:
                log.write(line)
                if line.startswith("Step ") or re.match(r"#\d+ \[", line):
                    say(f"  {tag}: {line.strip()[:110]}")
            code = process.wait()
        if code != 0:
            tail = "".join(log_path.read_text(errors="replace").splitlines(keepends=True)[-40:])
            raise RuntimeError(f"docker build of {tag} failed ({code}); log {log_path}:\n{tail}")
        return log_path

    def server_version(self) -> str:
        return _server_version(self.env()) or "unreachable"

    def stop(self, timeout: float = 30) -> None:
        """Stop the dockerd we started (by PID); an engine we found is left alone."""
        if not self.started_pid:
            return
        _stop_pid(self.started_pid, timeout)
        self.started_pid = None
        if self.cgroup_parent:  # what runc made of it in each controller, once empty
            for group in CGROUP_CPU.parent.glob(f"*/{self.cgroup_parent.lstrip('/')}"):
                with contextlib.suppress(OSError):
                    group.rmdir()


def _server_version(env: dict[str, str]) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv
            [DOCKER, "version", "--format", "{{.Server.Version}}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    version = done.stdout.strip()
    return version if done.returncode == 0 and version else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _stop_pid(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        if not _alive(pid):
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def _can_start_own() -> str | None:
    """None when we may install and start our own dockerd here; else the reason we may not."""
    if os.name != "posix" or os.geteuid() != 0:
        return "not running as root, so no dockerd of our own can be started"
    if not Path("/etc/debian_version").exists():
        return "not a Debian system, so docker.io cannot be installed with apt-get"
    return None


def apt_install(packages: tuple[str, ...], say: Callable[[str], None]) -> None:
    say(f"installing {' '.join(packages)} with apt-get (Debian packages)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise EngineUnavailable(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")


def start_own_dockerd(state_dir: Path, say: Callable[[str], None] = progress) -> Engine:
    """Start dockerd with everything in `state_dir`; install docker.io first if needed."""
    if not shutil.which("dockerd"):
        apt_install(DEBIAN_PACKAGES, say)
    # Unix socket paths are limited to 108 bytes; the repository path may be long.
    state_dir.mkdir(parents=True, exist_ok=True)
    run_dir = _short_run_dir(state_dir)
    socket_path = run_dir / "docker.sock"
    pid_file = run_dir / "docker.pid"
    _stop_leftover(pid_file)
    host = f"unix://{socket_path}"
    log = (state_dir / "dockerd.log").open("ab")
    cgroup_parent = _weighted_cgroup(CONTAINER_CGROUP, CONTAINER_CPU_SHARES)
    argv = [
        shutil.which("dockerd") or "dockerd",
        "--data-root", str(state_dir / "data"),
        "--exec-root", str(run_dir / "exec"),
        "--host", host,
        "--pidfile", str(pid_file),
        "--storage-driver", "overlay2",
        *(["--cgroup-parent", cgroup_parent] if cgroup_parent else []),
    ]  # fmt: skip
    say(f"starting dockerd (state in {state_dir}, socket {socket_path})")
    process = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)  # noqa: S603
    weight = f", containers weighted {CONTAINER_CPU_SHARES} in cgroup {cgroup_parent}"
    description = f"own dockerd, pid {process.pid}{weight if cgroup_parent else ''}"
    engine = Engine(host, process.pid, state_dir, description, cgroup_parent)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (state_dir / "dockerd.log").read_text(errors="replace")[-2000:]
            raise EngineUnavailable(f"dockerd exited with {process.returncode}:\n{tail}")
        if socket_path.exists() and _server_version(engine.env()):
            return engine
        time.sleep(0.5)
    engine.stop()
    raise EngineUnavailable(f"dockerd did not answer on {host} within 90 s")


def _weighted_cgroup(name: str, shares: int) -> str | None:
    """`name` made under cgroup v1's cpu controller with `shares`; None where we cannot (cgroup
    v2, or no write access): the containers then keep the engine's default group."""
    if not (CGROUP_CPU / "cpu.shares").exists():
        return None
    try:
        group = CGROUP_CPU / name.lstrip("/")
        group.mkdir(exist_ok=True)
        (group / "cpu.shares").write_text(str(shares))
    except OSError:
        return None
    return name


def _short_run_dir(state_dir: Path) -> Path:
    run_dir = state_dir / "run"
    if len(str(run_dir / "exec" / "containerd" / "containerd-debug.sock")) > 100:
        digest = hashlib.sha256(str(state_dir).encode()).hexdigest()[:10]
        run_dir = Path("/run") / f"airflow-snowflake-fargate-{digest}"
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def _stop_leftover(pid_file: Path) -> None:
    """A dockerd of ours left by an interrupted run holds the data root: stop it first."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and str(pid_file).encode() in cmdline.read_bytes():
        _stop_pid(pid, 30)
    # dockerd refuses to start beside a pid file whose process still exists (a stopping one)
    if not _alive(pid):
        pid_file.unlink(missing_ok=True)


def find_or_start(
    state_dir: Path = DEFAULT_STATE_DIR, say: Callable[[str], None] = progress
) -> Engine:
    """The engine to use; raises EngineUnavailable naming what was tried."""
    if not shutil.which(DOCKER):
        raise EngineUnavailable("the docker CLI is not on PATH")
    if os.environ.get("DOCKER_HOST"):
        host = os.environ["DOCKER_HOST"]
        version = _server_version(dict(os.environ))
        if not version:
            raise EngineUnavailable(f"DOCKER_HOST={host} does not answer (docker version)")
        return Engine(host, None, state_dir, f"DOCKER_HOST={host}, engine {version}")
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    version = _server_version(env)
    if version:
        return Engine(None, None, state_dir, f"the docker CLI's default engine {version}")
    reason = _can_start_own()
    if reason:
        raise EngineUnavailable(f"no Docker engine is reachable, and {reason}")
    engine = start_own_dockerd(state_dir, say)
    engine.description += f", engine {engine.server_version()}"
    return engine
