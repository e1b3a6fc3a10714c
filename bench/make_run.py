"""Time `make run` the way a user meets it, and measure the stack's memory.

Phases, each in a fresh clone of this repository on free ports:
  cold     fresh clone, empty uv cache, stack stopped  (target < 240 s)
  stopped  everything installed, stack stopped          (target < 60 s)
  warm     everything installed, stack running          (target < 60 s)
and from the `make run` output the trigger-to-analytics time (target < 45 s); PSS of the whole
stack idle and at its peak during a run (target < 1.5 GB).

    python -m bench.make_run [--skip-cold] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.memory import PeakSampler, stack_pss_mb
from local.settings import REPO, Settings

RESULTS = REPO / "bench" / "results.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def _pipeline_seconds(output: str) -> float:
    return float(re.search(r"pipeline total ([\d.]+) s", output).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-make-run-"))
    clone = work / "repo"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)  # noqa: S603, S607
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LOCAL_STACK"))}
    env.update(
        LOCAL_STACK_S3_PORT=str(_free_port()),
        LOCAL_STACK_SNOWFLAKE_PORT=str(_free_port()),
        LOCAL_STACK_API_PORT=str(_free_port()),
    )
    settings = Settings(
        state_dir=clone / ".local",
        s3_port=int(env["LOCAL_STACK_S3_PORT"]),
        snowflake_port=int(env["LOCAL_STACK_SNOWFLAKE_PORT"]),
        api_port=int(env["LOCAL_STACK_API_PORT"]),
    )
    figures: dict[str, float] = {}
    try:
        if args.skip_cold:
            _make(clone, "install", env)
        else:
            print("cold: fresh clone, empty package cache ...", flush=True)
            cold_env = dict(env, UV_CACHE_DIR=str(work / "uv-cache"))
            figures["cold_run_seconds"], _ = _make(clone, "run", cold_env)
            print(f"  make run: {figures['cold_run_seconds']:.1f} s", flush=True)
            _make(clone, "stop", env)
        stopped, warm, pipeline, idle = [], [], [], []
        peak = 0.0
        for run in range(1, args.runs + 1):
            sampler = PeakSampler(settings)
            sampler.start()
            seconds, _ = _make(clone, "run", env)
            stopped.append(seconds)
            time.sleep(5)  # let the last task processes exit before reading the idle figure
            idle.append(stack_pss_mb(settings))
            seconds, output = _make(clone, "run", env)
            peak = max(peak, sampler.stop())
            warm.append(seconds)
            pipeline.append(_pipeline_seconds(output))
            print(
                f"run {run}: stack stopped {stopped[-1]:.1f} s, stack running {warm[-1]:.1f} s, "
                f"trigger to analytics done {pipeline[-1]:.1f} s, idle PSS "
                f"{idle[-1]:.0f} MB",
                flush=True,
            )
            _make(clone, "stop", env)
        figures.update(
            stopped_run_seconds=statistics.median(stopped),
            warm_run_seconds=statistics.median(warm),
            trigger_to_analytics_seconds=statistics.median(pipeline),
            idle_pss_mb=statistics.median(idle),
            run_peak_pss_mb=peak,
        )
    finally:
        subprocess.run(["make", "-s", "stop"], cwd=clone, env=env, check=False)  # noqa: S603, S607
    targets = {
        "cold_run_seconds": 240,
        "stopped_run_seconds": 60,
        "warm_run_seconds": 60,
        "trigger_to_analytics_seconds": 45,
        "idle_pss_mb": 1000,
        "run_peak_pss_mb": 1536,
    }
    print(f"\n{'figure':<32}{'value':>10}{'target':>10}  verdict")
    for key, value in figures.items():
        target = targets[key]
        print(f"{key:<32}{value:>10.1f}{target:>10}  {'ok' if value < target else 'MISSED'}")
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing.update({k: round(v, 1) for k, v in figures.items()})
    RESULTS.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
