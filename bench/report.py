"""The benchmark table: every figure beside its target and whether it met it.

python -m bench.report [--markdown]   # the table of bench/results.json (README's is this)
"""

from __future__ import annotations

import argparse
import json
import operator
from pathlib import Path

RESULTS = Path(__file__).with_name("results.json")  # every part of `make bench` writes here
AT_MOST, UNDER, AT_LEAST = (operator.le, "<="), (operator.lt, "<"), (operator.ge, ">=")
# key: (what it is, unit, (comparison, target) or None)
FIGURES = {
    "overhead_ratio_1x": ("Airflow / plain script, sample data", "x", (AT_MOST, 3)),
    "overhead_ratio_10x": ("Airflow / plain script, 10x flights", "x", (AT_MOST, 1.5)),
    "pipeline_airflow_seconds_1x": ("trigger to analytics done, sample", "s", None),
    "pipeline_script_seconds_1x": ("plain script, sample", "s", None),
    "analytics_build_seconds_1x": ("  of which the dbt build task (analytics)", "s", None),
    "analytics_tail_seconds_1x": ("  then, the build's end to the analytics run's end", "s", None),
    "analytics_task_seconds_1x": ("  per-task overhead: a task after the build", "s", None),
    "pipeline_airflow_seconds_10x": ("trigger to analytics done, 10x", "s", None),
    "pipeline_script_seconds_10x": ("plain script, 10x", "s", None),
    "analytics_build_seconds_10x": ("  the dbt build task at 10x (every row new)", "s", None),
    "analytics_tail_seconds_10x": ("  then, the build's end to the analytics run's end", "s", None),
    "new_month_ratio_10x": ("new month on 10x: incremental / full rebuild", "x", (UNDER, 1)),
    "new_month_incremental_seconds_10x": ("new month on 10x, trigger to analytics done", "s", None),
    "new_month_full_rebuild_seconds_10x": (
        "new month on 10x, trigger to `dbt build --full-refresh` done",
        "s",
        None,
    ),
    "new_month_incremental_analytics_seconds_10x": ("  of which the analytics run", "s", None),
    "new_month_full_rebuild_dbt_seconds_10x": ("  of which `dbt build --full-refresh`", "s", None),
    "event_to_raw_seconds": ("file landed to its rows queryable (events)", "s", (UNDER, 10)),
    "event_to_analytics_seconds": ("file landed to analytics done (events)", "s", (UNDER, 30)),
    "load_throughput_ratio": ("raw load rows/s: stack / DuckDB direct", "x", (AT_LEAST, 0.8)),
    "load_stack_rows_per_second": ("raw load through the stack", "rows/s", None),
    "load_duckdb_rows_per_second": ("DuckDB reading the files directly", "rows/s", None),
    "parse_seconds_sample": ("DAG parse, slowest file, sample config", "s", (UNDER, 0.3)),
    "parse_seconds_500_sources": ("DAG parse, slowest file, 500 sources", "s", (UNDER, 0.3)),
    "idle_pss_mb": ("PSS of the whole stack, idle", "MB", (UNDER, 1000)),
    **{
        f"idle_pss_mb_{name}": (f"  of which {label}", "MB", None)
        for name, label in (
            ("s3", "moto S3 (holds the landed files)"),
            ("snowflake", "fakesnow + DuckDB"),
            ("api_server", "api-server"),
            ("scheduler", "scheduler + LocalExecutor workers"),
            ("dag_processor", "dag-processor"),
            ("triggerer", "triggerer + its trigger runner"),
        )
    },
    "run_peak_pss_mb": ("PSS of the whole stack, peak during runs", "MB", None),
    "make_run_idle_pss_mb": ("PSS of the stack, idle after one `make run`", "MB", None),
    "warm_run_seconds": ("`make run`, installed, stack running", "s", (UNDER, 60)),
    "stopped_run_seconds": ("`make run`, installed, stack stopped", "s", None),
    "cold_run_seconds": ("`make run`, fresh clone, empty cache", "s", None),
    "containers_tier_seconds_warm": ("container tier, warm image cache", "s", (UNDER, 480)),
    "containers_build_seconds_warm": ("  of which image builds (runtime, dev)", "s", None),
    "containers_up_to_dags_done_seconds": ("compose `up` to both DAGs done", "s", None),
    **{
        f"containers_{kind}_mib_{service}": (f"compose {service}, {label}", "MiB", None)
        for kind, label in (("idle", "idle"), ("peak", "peak of a run"))
        for service in (
            "api-server",
            "scheduler",
            "dag-processor",
            "triggerer",
            "postgres",
            "s3",
            "snowflake",
        )
    },  # fmt: skip
    "cost_prod_usd_month": ("prod profile", "USD/month", None),
    "cost_dev_usd_month": ("dev profile", "USD/month", None),
    "cost_mwaa_mw1_small_usd_month": ("Amazon MWAA mw1.small", "USD/month", None),
    "cost_old_single_task_usd_month": ("old single-task design", "USD/month", None),
}


def merge_results(figures: dict[str, float], replacing: str = "", **extra) -> None:
    """Add one part's figures (and `extra` entries) to RESULTS, replacing the same keys and,
    with `replacing`, every older key of that prefix (a figure this run did not make)."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if replacing:
        results = {k: v for k, v in results.items() if not k.startswith(replacing)}
    results.update({key: round(value, 1) for key, value in figures.items()}, **extra)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def _value(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}"
    if unit == "s" and value < 1:
        return f"{value:.3f} s"
    return f"{value:,.0f} {unit}" if value >= 1000 else f"{value:,.1f} {unit}"


def rows(figures: dict) -> list[tuple[str, str, str, str, str]]:
    """(key, what, value, target, verdict) for every known figure present."""
    out = []
    for key, (what, unit, target) in FIGURES.items():
        if key not in figures:
            continue
        if target is None:
            out.append((key, what, _value(figures[key], unit), "", ""))
            continue
        (compare, sign), limit = target
        verdict = "met" if compare(figures[key], limit) else "MISSED"
        out.append((key, what, _value(figures[key], unit), f"{sign} {limit:g}", verdict))
    return out


def table(figures: dict) -> str:
    lines = [f"{'key':<32} {'value':>16} {'target':>8}  {'verdict':<7} what"]
    for key, what, value, target, verdict in rows(figures):
        lines.append(f"{key:<32} {value:>16} {target:>8}  {verdict:<7} {what}")
    return "\n".join(lines)


def markdown(figures: dict) -> str:
    lines = ["| figure | key | measured | target | |", "|---|---|---:|---:|---|"]
    for key, what, value, target, verdict in rows(figures):
        lines.append(f"| {what} | `{key}` | {value} | {target} | {verdict} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    figures = json.loads(RESULTS.read_text())
    print(markdown(figures) if args.markdown else table(figures))
    if "measured" in figures:
        measured = figures["measured"]
        print(f"\nmeasured {measured['at']} on {measured['machine']}, runs {measured['runs']}")


if __name__ == "__main__":
    main()
