"""Event-driven loads on the running stack: moto's S3 notifies a moto SQS queue, the triggerer's
AssetWatcher starts snowflake_raw, and the run loads only the sources whose prefixes got files.

No test here triggers a run (the module's baseline is one triggered run before events are on):
every run followed is one the landing events started. Expected rows are the ones written here.
"""

from __future__ import annotations

import inspect
import json
import math
import time
from datetime import UTC, datetime

import pytest
from airflow.providers.amazon.aws.triggers.sqs import SqsSensorTrigger

from local import landing_events, pipeline, processes
from local import stack as stack_mod
from local.processes import wait_until
from local.samples import LANDING_PREFIX

from . import data
from .test_bad_data import csv, keyed, weather

pytestmark = pytest.mark.e2e

EVENTS = {"stage_path": LANDING_PREFIX, "poll_seconds": 1}
QUIET = lambda _line: None  # noqa: E731
# How long the SQS trigger's receive waits for a message: the DAG leaves the provider's
# wait_time_seconds at its default.
RECEIVE_WAIT_SECONDS = inspect.signature(SqsSensorTrigger).parameters["wait_time_seconds"].default


@pytest.fixture(scope="module")
def events_on(stack, sources_file):
    """events: on in the stack's sources file, an empty queue and the bucket's notification (a
    moto restarted by another scenario forgets it); the file as it was afterwards."""
    settings, api = stack
    # The baseline: whatever has landed so far is loaded (by a triggered run, before events).
    pipeline.follow_through(api, pipeline.trigger_raw(api, note="e2e baseline"), 600, QUIET)
    url = landing_events.ensure(settings.s3_endpoint, LANDING_PREFIX, QUIET)
    landing_events.drain(settings.s3_endpoint, url)
    with data.sources_changed(stack, sources_file, lambda config: config.update(events=EVENTS)):
        watching = "snowflake_raw scheduled on the landing events"
        wait_until(lambda: pipeline.watching_events(api), 120, watching, 2)
        yield url


def _stop_the_triggerer(settings) -> None:
    """Stop it, then let a receive it had under way end: the queue answers such a receive
    even when nobody waits on it any more, and the message it takes comes back only after its
    visibility timeout. Once the triggerer stopped in 0.2 s instead of 2-3 (its exit fix), a
    CI run found no waiting message after a put, most likely for this reason."""
    assert processes.stop(settings, "triggerer")
    time.sleep(RECEIVE_WAIT_SECONDS + 1)


def _now() -> datetime:
    return datetime.now(UTC)


def _runs(api, dag_id: str, since: datetime) -> list[dict]:
    return [
        r for r in api.dag_runs(dag_id, limit=50) if datetime.fromisoformat(r["run_after"]) >= since
    ]


def _settled(api, since: datetime, settings, queue_url: str, quiet: float = 8) -> None:
    """The queue empty (the trigger takes a burst a batch at a time, long after its rows are
    loaded), and no raw or analytics run since `since` running or queued, now and `quiet`
    seconds later (a run queued by a late event would show by then)."""
    _, sqs = landing_events.clients(settings.s3_endpoint)
    counts = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")

    def empty() -> bool:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(counts))
        return all(int(attributes["Attributes"][name]) == 0 for name in counts)

    def idle() -> bool:
        runs = _runs(api, pipeline.RAW, since) + _runs(api, pipeline.ANALYTICS, since)
        return all(r["state"] in ("success", "failed") for r in runs)

    wait_until(empty, 300, "the trigger to take every waiting message", 1)
    wait_until(idle, 300, "the event runs to finish", 1)
    time.sleep(quiet)
    wait_until(idle, 300, "the event runs to finish", 1)


def _event_run(api, since: datetime, known=frozenset()) -> list[pipeline.RunOutcome]:
    run_id = pipeline.wait_for_event_run(api, since, 180, QUIET, known)
    return pipeline.follow_through(api, run_id, 600, QUIET)


def test_a_landed_file_loads_exactly_its_source_then_analytics_once(
    stack, events_on, snowflake, s3, sources_file
):
    settings, api = stack
    config = data.config_of(sources_file)
    before = data.raw_counts(snowflake, config)
    rows = weather(2051, 5)
    since = _now()
    data.put(s3, f"{LANDING_PREFIX}weather/e2e-event-2051.csv", csv("weather", rows))

    raw, analytics = _event_run(api, since)

    assert raw.state == "success", raw.tasks
    loads = {t: s for t, s in raw.tasks.items() if t.startswith("load_")}
    assert loads == {
        f"load_{s.name}": "success" if s.name == "weather" else "skipped" for s in config.sources
    }
    assert api.dag_run(pipeline.RAW, raw.run_id)["run_type"] == "asset_triggered"
    table = f"{config.raw_schema}.weather"
    assert data.raw_counts(snowflake, config) == {**before, table: before[table] + len(rows)}
    assert analytics.state == "success", analytics.tasks
    _settled(api, since, settings, events_on)
    assert len(_runs(api, pipeline.ANALYTICS, since)) == 1
    assert len(_runs(api, pipeline.RAW, since)) == 1


def test_a_burst_of_files_gives_a_few_runs_and_loads_every_file_once(
    stack, events_on, snowflake, s3, sources_file
):
    settings, api = stack
    config = data.config_of(sources_file)
    table = f"{config.raw_schema}.airports"
    before = data.raw_counts(snowflake, config)[table]
    burst = 200
    since = _now()
    for i, row in enumerate(keyed("airports", "ZE", burst)):
        data.put(s3, f"{LANDING_PREFIX}airports/burst/e2e-{i:03d}.csv", csv("airports", [row]))
    wait_until(
        lambda: data.raw_counts(snowflake, config)[table] == before + burst,
        300,
        f"the {burst} landed airports files to be loaded",
        2,
    )
    _settled(api, since, settings, events_on)

    assert data.raw_counts(snowflake, config)[table] == before + burst
    assert data.files_loaded_twice(snowflake, config) == []
    runs = _runs(api, pipeline.RAW, since)
    assert all(r["run_type"] == "asset_triggered" for r in runs)
    # Each trigger event takes up to max_messages x batches messages; runs queued behind a
    # running one merge their events. Never one run per file.
    assert 1 <= len(runs) <= math.ceil(burst / (10 * 3)) + 1, [r["dag_run_id"] for r in runs]


def test_a_lost_message_is_made_good_and_waiting_messages_survive_the_triggerer(
    stack, events_on, snowflake, s3, sources_file
):
    settings, api = stack
    config = data.config_of(sources_file)
    before = data.raw_counts(snowflake, config)
    _stop_the_triggerer(settings)
    since = _now()
    lost, later = weather(2052, 3), weather(2053, 2)
    airlines = keyed("airlines", "ZL", 2)
    data.put(s3, f"{LANDING_PREFIX}weather/e2e-lost.csv", csv("weather", lost))
    assert landing_events.drain(settings.s3_endpoint, events_on) == 1  # at-most-once: lost
    data.put(s3, f"{LANDING_PREFIX}weather/e2e-later.csv", csv("weather", later))
    data.put(s3, f"{LANDING_PREFIX}airlines/e2e-later.csv", csv("airlines", airlines))
    time.sleep(5)
    assert _runs(api, pipeline.RAW, since) == []  # nobody polls: the messages wait
    stack_mod.start_airflow(settings, QUIET)

    raw = _event_run(api, since)[0]

    assert raw.state == "success", raw.tasks
    # A run's triggering events are every event since the previous event run, so a source
    # named by an earlier event may load again (nothing new); the counts below are exact.
    ran = {t for t, s in raw.tasks.items() if s == "success" and t.startswith("load_")}
    assert {"load_weather", "load_airlines"} <= ran
    weather_table, airlines_table = (f"{config.raw_schema}.{n}" for n in ("weather", "airlines"))
    expected = {
        **before,
        weather_table: before[weather_table] + len(lost) + len(later),  # the lost file too
        airlines_table: before[airlines_table] + len(airlines),
    }
    _settled(api, since, settings, events_on)
    assert data.raw_counts(snowflake, config) == expected
    assert data.files_loaded_twice(snowflake, config) == []


def test_test_events_keys_outside_every_prefix_and_deleted_files_change_nothing(
    stack, events_on, snowflake, s3, sources_file
):
    settings, api = stack
    config = data.config_of(sources_file)
    sqs = landing_events.clients(settings.s3_endpoint)[1]
    before = data.raw_counts(snowflake, config)
    _stop_the_triggerer(settings)
    since = _now()
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "landing"}
    sqs.send_message(QueueUrl=events_on, MessageBody=json.dumps(test_event))
    data.put(s3, f"{LANDING_PREFIX}no_such_source/e2e.csv", "a,b\n1,2\n")
    deleted = f"{LANDING_PREFIX}planes/e2e-deleted.parquet"
    data.put(s3, deleted, b"not parquet at all")
    data.delete(s3, deleted)
    stack_mod.start_airflow(settings, QUIET)

    _event_run(api, since)
    _settled(api, since, settings, events_on)

    # The three messages may come in one trigger event or several, so in one run or more.
    runs = [r["dag_run_id"] for r in _runs(api, pipeline.RAW, since)]
    assert all(r["state"] == "success" for r in _runs(api, pipeline.RAW, since))
    assert data.raw_counts(snowflake, config) == before
    assert _runs(api, pipeline.ANALYTICS, since) == []
    published = "".join(data.task_log(api, r, "publish_loaded_tables") for r in runs)
    assert published.count("Ignored 1 S3 test event") == 1
    assert f"Ignored {LANDING_PREFIX}no_such_source/e2e.csv: under no source's prefix" in published
    planes = [r for r in runs if data.task_instances(api, r)["load_planes"]["state"] == "success"]
    assert len(planes) == 1  # its key was named, though the file was deleted since
    assert f"Not loaded by this COPY: {deleted}" in data.task_log(api, planes[0], "load_planes")
    data.delete(s3, f"{LANDING_PREFIX}no_such_source/e2e.csv")
