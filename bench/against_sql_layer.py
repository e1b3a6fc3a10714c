"""The dbt layer against the SQL layer it replaced (issue 14: at most 1.5x at 1x), paired.

Each layer runs on an isolated stack of its own, both up at once: the working tree's, and the SQL
layer's (the last commit before dbt, checked out into a temporary git worktree and run with this
virtualenv), both with this tree's task slot settings (`local.airflow_env.task_slot_settings`).
One trigger-to-analytics-done run on one stack, then one on the other, alternating
which goes first, so that machine noise lands on both; the ratio is the median of the per-pair
ratios. Before each run the raw tables are dropped (as the `stack` part: every file loaded again);
with `--fresh` the analytics schema too, so each layer builds its tables from nothing (a first
load of the sample), where by default the dbt layer's incremental `flights` replaces every row it
already holds.

    .venv/bin/python -m bench.against_sql_layer --pairs 8 [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from local.airflow_env import task_slot_settings
from local.settings import REPO

# "Merge branch 'main' into dbt-groundwork": the SQL files and the check operators, before dbt
SQL_LAYER = "d19d8f2"

# Run in each layer's tree (cwd and PYTHONPATH): its own stack code, its own DAGs.
_SIDE = """
import json, sys
from contextlib import closing
from bench import overhead
from bench.__main__ import _sources_without_events
from bench.isolated_stack import isolated_stack
from local import airflow_env, stack
from local.airflow_env import connect_snowflake

def quiet(_line):
    pass

# The stack settings both layers run with, whatever the layer's tree sets: the comparison is of
# the layers, not of the stacks around them.
SHARED = json.loads(sys.argv[1])
_layer_env = airflow_env.airflow_env
stack.airflow_env = lambda settings: {**_layer_env(settings), **SHARED}

with isolated_stack(echo=quiet) as settings, _sources_without_events(settings):
    api = stack.up(settings, echo=quiet)
    overhead.airflow_seconds(settings, api)  # warm-up: the first run parses dbt in full
    print("ready", flush=True)
    for command in sys.stdin:
        if command.strip() == "fresh":
            with closing(connect_snowflake(settings)) as conn:
                conn.cursor().execute("drop schema if exists analytics.nycflights cascade")
                conn.cursor().execute("create schema analytics.nycflights")
        elif command.strip() != "reload":
            break
        print(json.dumps(overhead.airflow_seconds(settings, api)), flush=True)
"""


def _start(tree: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    side = subprocess.Popen(  # noqa: S603 - this interpreter on our own code
        [sys.executable, "-c", _SIDE, json.dumps(task_slot_settings())],
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return side


def _ask(side: subprocess.Popen, command: str) -> float:
    side.stdin.write(command + "\n")
    side.stdin.flush()
    answer = side.stdout.readline()
    if not answer:
        raise RuntimeError(f"a side stopped (exit {side.wait()}); its error is above")
    return json.loads(answer)


def measure(pairs: int, fresh: bool, echo=print) -> dict[str, float]:
    command = "fresh" if fresh else "reload"
    with tempfile.TemporaryDirectory(prefix="sql-layer-") as tmp:
        sql_tree = Path(tmp) / "tree"
        add = ["git", "worktree", "add", "--detach", "--quiet", str(sql_tree), SQL_LAYER]
        subprocess.run(add, cwd=REPO, check=True)  # noqa: S603, S607
        sides = {}
        try:
            sides = {"dbt": _start(REPO), "sql": _start(sql_tree)}
            echo("starting both stacks and one warm-up run on each")
            for name, side in sides.items():
                if side.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"the {name} layer's stack did not start: {side.wait()}")
            seconds: dict[str, list[float]] = {"dbt": [], "sql": []}
            for pair in range(pairs):
                order = ["dbt", "sql"] if pair % 2 == 0 else ["sql", "dbt"]
                for name in order:
                    seconds[name].append(_ask(sides[name], command))
                dbt, sql = seconds["dbt"][-1], seconds["sql"][-1]
                echo(
                    f"  pair {pair + 1}/{pairs} ({order[0]} first): dbt layer {dbt:.1f} s, "
                    f"SQL layer {sql:.1f} s, ratio {dbt / sql:.2f}; "
                    f"load average {os.getloadavg()[0]:.1f}"
                )
        finally:
            for side in sides.values():
                side.stdin.close()  # the side stops its stack and exits
                side.wait(timeout=300)
            remove = ["git", "worktree", "remove", "--force", str(sql_tree)]
            subprocess.run(remove, cwd=REPO, check=False)  # noqa: S603, S607
    ratios = [d / s for d, s in zip(seconds["dbt"], seconds["sql"], strict=True)]
    return {
        "ratio": statistics.median(ratios),
        "dbt_seconds": statistics.median(seconds["dbt"]),
        "sql_seconds": statistics.median(seconds["sql"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--fresh", action="store_true", help="drop the analytics schema too")
    args = parser.parse_args()
    figures = measure(args.pairs, args.fresh)
    print(
        f"{'first build' if args.fresh else 'raw reloaded'}, {args.pairs} pairs: "
        f"dbt layer {figures['dbt_seconds']:.1f} s, SQL layer {figures['sql_seconds']:.1f} s "
        f"(medians); dbt / SQL {figures['ratio']:.2f} (median of the pairs; target <= 1.5)"
    )


if __name__ == "__main__":
    main()
