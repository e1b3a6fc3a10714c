"""Time `make run` the way a user meets it, and measure the stack's memory.

Phases, each in a fresh clone of this repository on free ports:
  cold     fresh clone, empty uv cache, stack stopped  (target < 240 s)
  stopped  everything installed, stack stopped          (target < 60 s)
  warm     everything installed, stack running          (target < 60 s)
and from the `make run` output the trigger-to-analytics time; PSS of the whole stack idle and at
its peak during a run. `python -m bench` runs this as its `start` part.

    python -m bench.make_run [--skip-cold] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench import report
from bench.memory import PeakSampler, stack_pss_mb
from local.settings import REPO, Settings


def _make(clone: Path, target: str, env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - make from PATH, as a user runs it
        ["make", "-s", target],  # noqa: S607
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,  # noqa: S607
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"make {target} failed:\n{result.stdout[-3000:]}\n{result.stderr}")
    return seconds, result.stdout


def measure(runs: int = 3, skip_cold: bool = False, echo=print) -> dict[str, float]:
    """The phases above in a fresh clone of HEAD; medians of `runs`."""
    work = Path(tempfile.mkdtemp(prefix="bench-make-run-"))
    clone = work / "repo"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)  # noqa: S603, S607
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LOCAL_STACK"))}
    settings = Settings.on_free_ports(clone / ".local")
    env.update(settings.as_env())
    figures: dict[str, float] = {}
    try:
        if skip_cold:
            _make(clone, "install", env)
        else:
            echo("cold: fresh clone, empty package cache ...")
            cold_env = dict(env, UV_CACHE_DIR=str(work / "uv-cache"))
            figures["cold_run_seconds"], _ = _make(clone, "run", cold_env)
            echo(f"  make run: {figures['cold_run_seconds']:.1f} s")
            _make(clone, "stop", env)
        stopped, warm, idle = [], [], []
        peak = 0.0
        for run in range(1, runs + 1):
            sampler = PeakSampler(settings)
            sampler.start()
            seconds, _ = _make(clone, "run", env)
            stopped.append(seconds)
            time.sleep(5)  # let the last task processes exit before reading the idle figure
            idle.append(stack_pss_mb(settings))
            seconds, _ = _make(clone, "run", env)
            peak = max(peak, sampler.stop())
            warm.append(seconds)
            echo(
                f"  make run {run}/{runs}: stack stopped {stopped[-1]:.1f} s, stack running "
                f"{warm[-1]:.1f} s, idle PSS {idle[-1]:.0f} MB"
            )
            _make(clone, "stop", env)
        figures.update(
            stopped_run_seconds=statistics.median(stopped),
            warm_run_seconds=statistics.median(warm),
            idle_pss_mb=statistics.median(idle),
            run_peak_pss_mb=peak,
        )
    finally:
        subprocess.run(["make", "-s", "stop"], cwd=clone, env=env, check=False)  # noqa: S603, S607
        shutil.rmtree(work, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    figures = measure(args.runs, args.skip_cold)
    print("\n" + report.table(figures))
    report.merge_results(figures)
    print(f"\nwritten to {report.RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
