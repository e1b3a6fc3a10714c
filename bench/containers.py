"""Container figures: the compose stack's time from `up` to both DAGs done (warm image cache),
each service's memory idle and at the peak of a run (`docker stats`), and the whole container
tier's wall time (`pytest test/containers`, warm cache).

    python -m bench.containers     # prints the figures, merges them into bench/results.json
"""

from __future__ import annotations

import subprocess  # noqa: S404 - fixed argv
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from deploy.containers import compose, offline_base
from deploy.containers import engine as engine_mod
from local.settings import free_port

IDLE_AFTER_SECONDS = 30


class StatsSampler(threading.Thread):
    """Peak memory per service while a run goes on (`docker stats` every few seconds)."""

    def __init__(self, stack: compose.ComposeStack):
        super().__init__(daemon=True)
        self.stack = stack
        self.peak: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                usage = self.stack.stats()
            except (subprocess.CalledProcessError, ValueError, KeyError):
                usage = {}  # a container that stopped between ps and stats
            for service, mib in usage.items():
                self.peak[service] = max(mib, self.peak.get(service, 0.0))
            self.done.wait(3)

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.join()
        return self.peak


def measure_stack(echo=engine_mod.progress) -> dict[str, float]:
    engine = engine_mod.find_or_start(say=echo)
    figures: dict[str, float] = {}
    try:
        bases = offline_base.ensure(engine, engine_mod.DEFAULT_STATE_DIR, echo)
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            text = compose.env_text(None, port)
            context = compose.build_context(Path(tmp) / "context", text)
            started = time.monotonic()
            images = compose.build_images(engine, bases, context, echo)
            figures["containers_build_seconds_warm"] = time.monotonic() - started
            env_file = Path(tmp) / ".env"
            env_file.write_text(text + compose.image_names(images))
            stack = compose.ComposeStack(
                engine, env_file, f"asf-bench-{uuid.uuid4().hex[:8]}", port, echo
            )
            sampler = StatsSampler(stack)
            try:
                started = time.monotonic()
                sampler.start()
                stack.up()
                outcomes = stack.wait_pipeline()
                figures["containers_up_to_dags_done_seconds"] = time.monotonic() - started
                states = [o.state for o in outcomes]
                if states != ["success", "success"]:
                    raise RuntimeError(f"the pipeline did not succeed: {states}")
                for service, mib in sampler.stop().items():
                    figures[f"containers_peak_mib_{service}"] = mib
                echo(f"idle for {IDLE_AFTER_SECONDS} s, then docker stats")
                time.sleep(IDLE_AFTER_SECONDS)
                for service, mib in stack.stats().items():
                    figures[f"containers_idle_mib_{service}"] = mib
            finally:
                sampler.done.set()
                stack.down(volumes=True)
    finally:
        engine.stop()
    return figures


def measure_tier(echo=engine_mod.progress) -> float:
    """Wall time of the whole container tier, as `make test-containers` runs it."""
    echo("the whole container tier: pytest test/containers")
    started = time.monotonic()
    subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "pytest", "test/containers", "-q", "--capture=no"],
        cwd=engine_mod.REPO,
        check=True,
    )
    return time.monotonic() - started


def measure(echo=engine_mod.progress) -> dict[str, float]:
    figures = measure_stack(echo)
    figures["containers_tier_seconds_warm"] = measure_tier(echo)
    return figures


def main() -> None:
    figures = measure()
    measured = {"at": datetime.now(UTC).isoformat(timespec="minutes")}
    report.merge_results(figures, replacing="containers_", measured_containers=measured)
    for key, value in sorted(figures.items()):
        print(f"  {key:<48} {value:>8.1f}")


if __name__ == "__main__":
    main()
