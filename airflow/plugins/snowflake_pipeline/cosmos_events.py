"""One XCom per dbt node's event from the analytics build, not four.

In the watcher mode, Cosmos's build task writes each node's latest dbt event to an XCom (one key
per node) for every NodeStart, NodeCompiling, NodeExecuting and NodeFinished event: each write a
round trip through the task's supervisor to the API server and the metadata database, made in the
dbt thread that runs the node. The tasks that follow the build read that key once, after the
node's status is final, to log how it ended: only the last write (NodeFinished, or an error
event) is ever read. The 32 nodes of the project made 128 such writes of the build's 225 XComs.
Skipping the three events before NodeFinished leaves what the tasks read unchanged
(test/plugins/test_cosmos_events.py runs Cosmos's own parser on dbt's events). Imports Cosmos.
"""

from __future__ import annotations

from typing import Any

from cosmos.operators._watcher import base

# Written over by the node's next event before any task reads them.
_OVERWRITTEN = frozenset({"NodeStart", "NodeCompiling", "NodeExecuting"})
_write_event = base._process_dbt_log_event


def _write_lasting_events(task_instance: Any, dbt_log: dict[str, Any]) -> None:
    if dbt_log.get("info", {}).get("name") not in _OVERWRITTEN:
        _write_event(task_instance, dbt_log)


def write_lasting_node_events_only() -> None:
    """Install the filter on Cosmos's build task (idempotent; no I/O: safe at parse time)."""
    base._process_dbt_log_event = _write_lasting_events
