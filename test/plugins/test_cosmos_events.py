"""snowflake_pipeline.cosmos_events: the analytics build writes one XCom per dbt node's event, and
what the tasks that follow it read is what Cosmos as shipped would have left there.

Cosmos's own parser of dbt's JSON log lines (store_dbt_resource_status_from_log, the build task's
callback) runs on a node's events in the order dbt emits them; the task instance records the XComs
it is given, as the build task's would be written."""

from __future__ import annotations

import json

import pytest
from cosmos.operators._watcher import base

from snowflake_pipeline import cosmos_events

NODE = "model.analytics.flights"
EVENT_KEY = "model__analytics__flights_dbt_event"  # Cosmos's key for the node's last event


class _RecordedXComs:
    """The build task's XComs: every write kept in order."""

    def __init__(self) -> None:
        self.written: list[tuple[str, object]] = []

    def xcom_push(self, key: str, value: object) -> None:
        self.written.append((key, value))

    def xcom_pull(self, *_args, **_kwargs) -> None:
        return None


def _dbt_line(event: str, status: str, message: str | None = None) -> str:
    finished = status in ("success", "error")
    node_info = {
        "unique_id": NODE,
        "resource_type": "model",
        "node_path": "marts/flights.sql",
        "node_status": status,
        "node_started_at": "2026-12-06T07:00:01.000000",
        "node_finished_at": "2026-12-06T07:00:05.000000" if finished else "",
    }
    data = {"node_info": node_info}
    if message:
        data["run_result"] = {"message": message}
    return json.dumps({"info": {"name": event, "msg": f"{event} {NODE}"}, "data": data})


def _build(lines: list[str]) -> list[tuple[str, object]]:
    xcoms = _RecordedXComs()
    for line in lines:
        base.store_dbt_resource_status_from_log(line, {"context": {"ti": xcoms}})
    return xcoms.written


@pytest.fixture
def cosmos_as_shipped(monkeypatch):
    """Undo the filter after the test (monkeypatch restores the module attribute)."""
    monkeypatch.setattr(base, "_process_dbt_log_event", cosmos_events._write_event)


@pytest.mark.parametrize(
    ("status", "message"), [("success", "SUCCESS 336776"), ("error", "Database Error in model")]
)
def test_one_event_write_per_node_and_the_same_last_value(cosmos_as_shipped, status, message):
    lines = [
        _dbt_line("NodeStart", "started"),
        _dbt_line("NodeCompiling", "compiling"),
        _dbt_line("NodeExecuting", "executing"),
        _dbt_line("NodeFinished", status, message),
    ]
    shipped = [value for key, value in _build(lines) if key == EVENT_KEY]

    cosmos_events.write_lasting_node_events_only()
    cosmos_events.write_lasting_node_events_only()  # installing twice changes nothing
    written = _build(lines)
    filtered = [value for key, value in written if key == EVENT_KEY]

    assert len(shipped) == 4 and len(filtered) == 1
    assert filtered[-1] == shipped[-1]
    assert filtered[-1]["status"] == status and filtered[-1]["msg"] == message
    # the node's status, which the following task polls, is written as before
    assert ("model__analytics__flights_status", {"status": status, "outlet_uris": []}) in written
