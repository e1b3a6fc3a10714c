"""Airflow's local-settings hook (airflow/config/airflow_local_settings.py), run in a new process
with the component's command line, as each component runs it.

The preload of the components that parse the DAG files: the dag-processor, and the scheduler,
whose forked LocalExecutor workers parse a task's DAG file in each task process. After it, a
parse imports nothing but Airflow's own lazy modules, the standard library and the project's
plugin, which stays unloaded until a parse so that a changed plugin file is read by the next one.

The long-running components' heap frozen at exit, so that Python's last collections skip it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from local.settings import REPO

_PARSE_AFTER_THE_PRELOAD = """
import json, sys
sys.argv = ["airflow", sys.argv[1]]  # as the component's command line has it
import airflow  # runs airflow_local_settings
from airflow.dag_processing.dagbag import DagBag
before = set(sys.modules)
preloaded_plugin = "snowflake_pipeline" in before
for name in ("snowflake_raw", "snowflake_analytics"):
    bag = DagBag(dag_folder=f"airflow/dags/{name}.py", bundle_path="airflow/dags",
                 safe_mode=False, load_op_links=False)
    assert not bag.import_errors, bag.import_errors
new = {m.split(".")[0] for m in set(sys.modules) - before} - set(sys.stdlib_module_names)
print(json.dumps({"new": sorted(new), "preloaded_plugin": preloaded_plugin}))
"""


def _run_as(component: str, script: str, tmp_path) -> str:
    """`script` in a new interpreter whose argv names `component`; its last line of output."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "PYTHONPATH": f"{REPO / 'airflow' / 'config'}:{REPO / 'airflow' / 'plugins'}",
        # the sample config turns events on: the AssetWatcher's trigger is built at parse time
        "PIPELINE_EVENT_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/landing",
    }
    done = subprocess.run(  # noqa: S603 - this interpreter on our own script
        [sys.executable, "-c", script, component],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("component", ["dag-processor", "scheduler"])
def test_a_parse_after_the_preload_imports_no_package_but_airflow_and_the_plugin(
    tmp_path, component
):
    seen = json.loads(_run_as(component, _PARSE_AFTER_THE_PRELOAD, tmp_path))
    assert not seen["preloaded_plugin"]
    new = {m for m in seen["new"] if not m.startswith("unusual_prefix_")}
    assert new == {"airflow", "snowflake_pipeline"}, new


# An exit handler registered before the hook runs after the hook's own (they run last in, first
# out): it sees what the hook left for Python's final collections.
_FROZEN_AT_EXIT = """
import atexit, gc, sys
sys.argv = ["airflow", sys.argv[1]]
atexit.register(lambda: print("tracked", len(gc.get_objects()), "frozen", gc.get_freeze_count()))
import airflow  # runs airflow_local_settings
import airflow.api_fastapi.app  # the heap the api-server holds
"""


@pytest.mark.parametrize(
    "component", ["api-server", "scheduler", "dag-processor", "triggerer", "db"]
)
def test_the_components_leave_their_heap_frozen_for_the_collections_at_exit(tmp_path, component):
    _, tracked, _, frozen = _run_as(component, _FROZEN_AT_EXIT, tmp_path).split()
    if component == "db":
        # a one-off command (`airflow db migrate`): Python's own exit, untouched
        assert int(frozen) == 0 and int(tracked) > 10_000, (tracked, frozen)
    else:
        # everything but what exit handlers made after the freeze
        assert int(tracked) < int(frozen) // 100, (tracked, frozen)
