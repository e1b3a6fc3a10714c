"""Start and stop the stack's server processes, each recorded by PID in the state folder.

`make stop` stops exactly what was started: a PID file is only trusted while the process it
names still runs the command we started (PIDs get reused).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from local.settings import HOST, Settings

T = TypeVar("T")


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.pid_dir / f"{name}.pid"


def _stat(path: Path) -> list[str]:
    """The fields of a /proc/PID/stat after the command name (state first); [] when gone."""
    try:
        return path.read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> str:
    """The kernel's start time of `pid` (field 22 of /proc/PID/stat); '' when it is gone."""
    fields = _stat(Path(f"/proc/{pid}/stat"))
    return fields[19] if len(fields) > 19 else ""


def running_pid(settings: Settings, name: str) -> int | None:
    """The PID of component `name` if the process we started is still alive."""
    path = _pid_file(settings, name)
    if not path.exists():
        return None
    pid, started, _ = _recorded(path)
    # Same PID and same start time: it is still our process, not a reused PID.
    if started and _start_time(pid) == started and alive(pid):
        return pid
    path.unlink(missing_ok=True)
    return None


def process_identity(settings: Settings, name: str) -> str | None:
    """PID and start time of component `name` while it runs: unique across restarts."""
    pid = running_pid(settings, name)
    return f"{pid}:{_start_time(pid)}" if pid else None


def start(
    settings: Settings,
    name: str,
    argv: list[str],
    env: dict[str, str],
    stop_signal: signal.Signals = signal.SIGTERM,
) -> int:
    """Start `argv` in its own session (so it can be stopped as a group); log to logs/<name>.log.

    `stop_signal` is what `stop` sends first; it is recorded beside the PID."""
    settings.pid_dir.mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    log = open(settings.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(  # noqa: S603 - argv is built by this package, never from user input
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=settings.state_dir,
    )
    log.close()
    _pid_file(settings, name).write_text(
        f"{proc.pid}\n{_start_time(proc.pid)}\n{stop_signal.name}\n"
    )
    return proc.pid


def _recorded(path: Path) -> tuple[int, str, signal.Signals]:
    """PID, start time and stop signal of a PID file (SIGTERM where none was recorded)."""
    pid, started, stop_signal, *_ = [*path.read_text().split(), "", "", ""]
    return int(pid), started, signal.Signals[stop_signal] if stop_signal else signal.SIGTERM


def stop(settings: Settings, name: str, timeout: float = 20.0) -> bool:
    """Stop component `name` and its children; True if something was stopped."""
    pid = running_pid(settings, name)
    if pid is None:
        return False
    _, _, first = _recorded(_pid_file(settings, name))
    for _ in range(2):
        try:
            os.killpg(pid, first)
        except ProcessLookupError:
            break
        if _wait_gone(pid, timeout / 2):
            break
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _wait_gone(pid, 5)
    _pid_file(settings, name).unlink(missing_ok=True)
    return True


def kill(settings: Settings, name: str) -> int | None:
    """SIGKILL component `name` and its whole process group at once, as a crash would."""
    pid = running_pid(settings, name)
    if pid is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _wait_gone(pid, 10)
    _pid_file(settings, name).unlink(missing_ok=True)
    return pid


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait until `pid` and every other live process of its group (it leads one) are gone: a
    component's children (the triggerer's trigger runner, the scheduler's task processes) can
    outlive it, and a stopped component must not act any more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaps it when it is our child
        if not _live_group_members(pid):  # the leader too: a session leader keeps its group
            return True
        time.sleep(0.2)
    return False


def _live_group_members(group: int) -> list[int]:
    """The processes of process group `group` that still run (zombies excepted)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(stat)  # [] when it ended meanwhile
        if fields[2:3] == [str(group)] and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _is_zombie(pid: int) -> bool:
    """True for a zombie, and for a process that is gone."""
    return _stat(Path(f"/proc/{pid}/stat"))[:1] in ([], ["Z"])


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, exited but not yet reaped, does not)."""
    return not _is_zombie(pid)


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until(
    check: Callable[[], T],
    timeout: float,
    what: str,
    log: Path | None = None,
    interval: float = 0.3,
) -> T:
    """Poll `check` until it returns something truthy, and return that; a timeout names `what`
    and the log to read."""
    deadline = time.monotonic() + timeout
    while True:
        if result := check():
            return result
        if time.monotonic() >= deadline:
            hint = f"; see {log}" if log else ""
            raise TimeoutError(f"{what}: not within {timeout:.0f} s{hint}")
        time.sleep(interval)
