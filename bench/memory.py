"""PSS of the local stack: every process `make run` started, with all its descendants."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from local.airflow_env import COMPONENTS
from local.processes import running_pid
from local.settings import Settings
from local.stack import SERVICES


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids += [int(c) for c in (task / "children").read_text().split()]
    return kids


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int | None) -> set[int]:
    seen: set[int] = set()
    todo = [pid] if pid else []
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo += _children(pid)
    return seen


def stack_pss_by_component(settings: Settings) -> dict[str, float]:
    """MB of PSS per stack process, children included (LocalExecutor workers, trigger runner)."""
    return {
        name: sum(_pss_kb(pid) for pid in _tree(running_pid(settings, name))) / 1024
        for name in (*SERVICES, *COMPONENTS)
    }


def stack_pss_mb(settings: Settings) -> float:
    return sum(stack_pss_by_component(settings).values())


class PeakSampler(threading.Thread):
    """Samples the stack's PSS every `interval` seconds until stopped; keeps the peak."""

    def __init__(self, settings: Settings, interval: float = 0.5):
        super().__init__(daemon=True)
        self.settings, self.interval, self.peak_mb = settings, interval, 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak_mb = max(self.peak_mb, stack_pss_mb(self.settings))
            self._halt.wait(self.interval)

    def stop(self) -> float:
        self._halt.set()
        self.join()
        return self.peak_mb
