"""`make bench`: every benchmark on this machine, progress as it goes, a table, bench/results.json.

    python -m bench [--runs N] [--skip PART ...] [--skip-cold]

Parts: parse (DAG parse time), stack (memory, orchestration overhead at 1x and 10x, load
throughput; on a stack of its own; then `month`: a new month landing on the 10x data, the
incremental model against a full rebuild, bench/new_month.py), start (`make run` in a fresh
clone), cost (`make cost`), containers (compose up to both DAGs done, memory per service, the
container tier's time).
Ratios come from both sides measured alternately in the same run, median of `--runs`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime

from bench import report
from local.settings import REPO

PARTS = ("parse", "stack", "10x", "month", "events", "start", "cost", "containers")


def _echo_with_clock(started: float):
    def echo(line: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] {line.strip()}", flush=True)

    return echo


def run_parse(args, echo) -> dict:
    from bench import parse_time

    figures = parse_time.measure(args.runs, echo=echo)
    return {
        "parse_seconds_sample": max(figures["sample"].values()),
        "parse_seconds_500_sources": max(figures["500_sources"].values()),
        **{
            f"parse_seconds_{label}_{dag_file.removesuffix('.py')}": seconds
            for label, files in figures.items()
            for dag_file, seconds in files.items()
        },
    }


def run_stack(args, echo) -> dict:
    from bench import flights_10x, load_throughput, overhead
    from bench.isolated_stack import isolated_stack
    from bench.memory import PeakSampler, stack_pss_by_component
    from local import stack

    figures: dict[str, float] = {}
    with isolated_stack(echo=echo) as settings, _sources_without_events(settings):
        echo(f"stack: starting on free ports, state in {settings.state_dir}")
        api = stack.up(settings, echo=lambda _line: None)
        s3 = stack.s3_client(settings)
        echo("stack: up; one warm-up run of the pipeline through Airflow")
        overhead.airflow_seconds(settings, api)
        idle: list[float] = []
        idle_parts: dict[str, list[float]] = {}

        def read_idle() -> None:
            time.sleep(10)  # task processes exit, the emulator trims its heap
            parts = stack_pss_by_component(settings)
            idle.append(sum(parts.values()))
            for name, mb in parts.items():
                idle_parts.setdefault(name, []).append(mb)
            detail = ", ".join(f"{name} {mb:.0f}" for name, mb in parts.items())
            echo(f"  idle PSS of the stack: {idle[-1]:,.0f} MB ({detail})")

        sampler = PeakSampler(settings)
        sampler.start()
        one = overhead.measure(settings, api, args.runs, "1x", echo=echo, after_pair=read_idle)
        figures["run_peak_pss_mb"] = sampler.stop()
        figures["idle_pss_mb"] = statistics.median(idle)
        for name, values in idle_parts.items():
            figures[f"idle_pss_mb_{name.replace('-', '_')}"] = statistics.median(values)
        figures.update(
            overhead_ratio_1x=one["ratio"],
            pipeline_airflow_seconds_1x=one["airflow_seconds"],
            pipeline_script_seconds_1x=one["script_seconds"],
            analytics_build_seconds_1x=one["build_seconds"],
            analytics_tail_seconds_1x=one["tail_seconds"],
            **({"analytics_task_seconds_1x": one["task_seconds"]} if "task_seconds" in one else {}),
        )
        load = load_throughput.measure(settings, s3, args.runs, echo=echo)
        figures.update(
            load_throughput_ratio=load["ratio"],
            load_stack_rows_per_second=load["stack_rows_per_second"],
            load_duckdb_rows_per_second=load["engine_rows_per_second"],
        )
        if "10x" not in args.skip:
            echo("10x: landing ten years of flights")
            flights_10x.land(s3, echo=echo)
            ten = overhead.measure(settings, api, args.runs, "10x", echo=echo)
            figures.update(
                overhead_ratio_10x=ten["ratio"],
                pipeline_airflow_seconds_10x=ten["airflow_seconds"],
                pipeline_script_seconds_10x=ten["script_seconds"],
                analytics_build_seconds_10x=ten["build_seconds"],
                analytics_tail_seconds_10x=ten["tail_seconds"],
            )
            if "month" not in args.skip:
                from bench import new_month

                echo("month: a new month of flights on the 10x data, incremental vs full rebuild")
                figures.update(new_month.measure(settings, api, s3, args.runs, echo=echo))
        echo("stack: stopping")
    return figures


def run_events(args, echo) -> dict:
    """A stack of its own: the sample load first (triggered), then events on, then files land."""
    from bench import event_latency, overhead
    from bench.isolated_stack import isolated_stack
    from local import stack

    with isolated_stack(echo=echo) as settings, _sources_without_events(settings) as sources:
        echo(f"events: starting a stack on free ports, state in {settings.state_dir}")
        api = stack.up(settings, echo=lambda _line: None)
        overhead.airflow_seconds(settings, api)  # the samples loaded: the baseline
        echo("events: a file landed to its rows queryable, and to analytics done")
        runs = max(args.runs, 5)
        return event_latency.measure(settings, api, stack.s3_client(settings), sources, runs, echo)


@contextlib.contextmanager
def _sources_without_events(settings):
    """The bench stack reads a copy of the sources file without events (its parts trigger their
    own runs; the events part turns them on for itself)."""
    from bench.event_latency import without_events
    from snowflake_pipeline.config import SOURCES_FILE_ENV, sources_file

    saved = os.environ.get(SOURCES_FILE_ENV)
    path = without_events(sources_file(), settings.state_dir / "sources.yml")
    os.environ[SOURCES_FILE_ENV] = str(path)
    try:
        yield path
    finally:
        if saved is None:
            os.environ.pop(SOURCES_FILE_ENV, None)
        else:
            os.environ[SOURCES_FILE_ENV] = saved


def run_start(args, echo) -> dict:
    from bench import make_run

    figures = make_run.measure(runs=args.runs, skip_cold=args.skip_cold, echo=echo)
    # The memory of `make run`'s own stack is kept beside the stack part's figures.
    for key in ("idle_pss_mb", "run_peak_pss_mb"):
        if key in figures:
            figures[f"make_run_{key}"] = figures.pop(key)
    return figures


def run_cost(_args, echo) -> dict:
    from deploy import cost

    totals = {profile: cost.total(cost.estimate(profile)) for profile in ("prod", "dev")}
    comparisons = {key: usd for key, (_label, usd) in cost.comparisons().items()}
    echo(f"  cost: prod {totals['prod']:.2f}, dev {totals['dev']:.2f} USD/month")
    return {
        "cost_prod_usd_month": totals["prod"],
        "cost_dev_usd_month": totals["dev"],
        **{f"cost_{key}_usd_month": usd for key, usd in comparisons.items()},
    }


def run_containers(_args, echo) -> dict:
    from bench import containers

    return containers.measure(echo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per side of each ratio")
    parser.add_argument("--skip", nargs="*", default=[], choices=PARTS, help="parts to skip")
    parser.add_argument("--skip-cold", action="store_true", help="no `make run` from nothing")
    args = parser.parse_args()
    started = time.monotonic()
    echo = _echo_with_clock(started)
    figures: dict[str, float] = {}
    # The ratios first: they hold up under load; absolute timings (parse, start) come later.
    runners = {
        "stack": run_stack,
        "events": run_events,
        "parse": run_parse,
        "start": run_start,
        "cost": run_cost,
        "containers": run_containers,
    }
    done: list[str] = []
    for part, runner in runners.items():
        if part in args.skip:
            continue
        echo(f"== {part}")
        figures.update(runner(args, echo))
        done.append(part)
        _write(figures, args.runs, done, started)  # after every part: an interrupted run keeps it
    print("\n" + report.table(figures), flush=True)
    minutes = (time.monotonic() - started) / 60
    print(f"\nwritten to {report.RESULTS.relative_to(REPO)} ({minutes:.1f} min)")


def _write(figures: dict[str, float], runs: int, parts: list[str], started: float) -> None:
    """This run's figures only: a skipped part leaves no stale figure behind."""
    results: dict = {k: round(v, 3) for k, v in figures.items()}
    results["measured"] = {
        "at": datetime.now(UTC).isoformat(timespec="minutes"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {_memory_gb():.0f} GB RAM",
        "runs": runs,
        "minutes": round((time.monotonic() - started) / 60, 1),
        "parts": parts,
    }
    report.RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def _memory_gb() -> float:
    with open("/proc/meminfo") as meminfo:
        return int(meminfo.readline().split()[1]) / 1024**2


if __name__ == "__main__":
    main()
