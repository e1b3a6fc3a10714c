"""Event-driven loads: which sources a run's landing events name, and snowflake_raw's schedule."""

import json
from pathlib import Path

import pytest

from snowflake_pipeline.config import ConfigError, load_config
from snowflake_pipeline.events import LANDED_FILES, QUEUE_URL_ENV, event_keys, raw_schedule, route

REPO = Path(__file__).parents[2]
SOURCES = REPO / "airflow" / "dags" / "config" / "sources.yml"
CONFIG = load_config(SOURCES)


def _extra(*bodies: dict) -> dict:
    """An asset event's extra as the SQS trigger writes it: one message per body."""
    batch = [{"MessageId": str(i), "Body": json.dumps(b)} for i, b in enumerate(bodies)]
    return {"from_trigger": True, "payload": {"message_batch": batch}}


def _created(*keys: str) -> dict:
    return {
        "Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": k}}} for k in keys]
    }


def test_keys_are_url_decoded_as_moto_sends_them_and_plain_as_aws_does():
    extras = [
        _extra(_created("landing%2Fweather%2F2024+05.csv")),
        _extra(_created("landing/x/a b.csv")),
    ]
    assert event_keys(extras) == (["landing/weather/2024 05.csv", "landing/x/a b.csv"], 0)


def test_each_key_goes_to_the_source_whose_prefix_it_is_under():
    extras = [
        _extra(
            _created("landing/weather/w1.csv", "landing/flights/2013/01.json"),
            _created("landing/weather/w2.csv", "landing/weather/w1.csv"),  # a duplicate
            {"Service": "Amazon S3", "Event": "s3:TestEvent"},
            _created("landing/elsewhere/x.csv", "weather/not-under-the-stage.csv"),
        )
    ]
    landed = route(CONFIG, extras)
    assert landed.keys == {
        "weather": ["landing/weather/w1.csv", "landing/weather/w2.csv"],
        "flights": ["landing/flights/2013/01.json"],
    }
    assert landed.outside == ["landing/elsewhere/x.csv", "weather/not-under-the-stage.csv"]
    assert landed.test_events == 1


def test_a_message_that_is_not_json_is_ignored():
    extras = [
        {"payload": {"message_batch": [{"Body": "not json"}]}},
        _extra(_created("landing/planes/p.parquet")),
    ]
    assert route(CONFIG, extras).keys == {"planes": ["landing/planes/p.parquet"]}


def test_events_and_a_safety_schedule_give_either_one(monkeypatch):
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    monkeypatch.setenv(QUEUE_URL_ENV, "http://127.0.0.1:9/123456789012/landing-events")
    schedule = raw_schedule(CONFIG, SOURCES)
    assert isinstance(schedule, AssetOrTimeSchedule)
    asset = schedule.asset_condition
    assert asset.name == LANDED_FILES
    (watcher,) = asset.watchers
    trigger = watcher.trigger
    assert (trigger.scheme, trigger.kwargs["sqs_queue"]) == (
        "sqs",
        "http://127.0.0.1:9/123456789012/landing-events",
    )
    events = CONFIG.events
    assert (trigger.kwargs["max_messages"], trigger.kwargs["num_batches"]) == (
        events.max_messages,
        events.batches,
    )
    only_events = CONFIG.model_copy(update={"schedule": None})
    assert [a.name for a in raw_schedule(only_events, SOURCES)] == [LANDED_FILES]
    only_cron = raw_schedule(CONFIG.model_copy(update={"events": None}), SOURCES)
    assert (only_cron.expression, str(only_cron.timezone)) == (
        CronTriggerTimetable(CONFIG.schedule, timezone="UTC").expression,
        "UTC",
    )
    assert (
        raw_schedule(CONFIG.model_copy(update={"events": None, "schedule": None}), SOURCES) is None
    )


def _first_run_after(timetable, now: str, monkeypatch):
    """When the scheduler would first run `timetable` (an SDK one, as a DAG file gives it) for a
    DAG it sees for the first time at `now` (UTC)."""
    import pendulum
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable
    from airflow.timetables import trigger
    from airflow.timetables.base import TimeRestriction

    monkeypatch.setattr(trigger, "utcnow", lambda: pendulum.parse(f"2026-12-06T{now}:00+00:00"))
    core = decode_timetable(encode_timetable(timetable))  # what the scheduler holds
    restriction = TimeRestriction(earliest=None, latest=None, catchup=False)
    info = core.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    return info.run_after.isoformat()


@pytest.mark.parametrize("now", ["00:30", "02:00", "14:00"])
def test_the_safety_schedule_first_runs_at_its_next_time_never_at_once(now, monkeypatch):
    from airflow.sdk import CronTriggerTimetable

    no_events = CONFIG.model_copy(update={"events": None, "schedule": "@daily"})
    ours = _first_run_after(raw_schedule(no_events, SOURCES), now, monkeypatch)
    assert ours == "2026-12-07T00:00:00+00:00"
    # Airflow's default would have run the past midnight at once up to 2.4 h after it
    default = _first_run_after(CronTriggerTimetable("@daily", timezone="UTC"), now, monkeypatch)
    assert default == (
        "2026-12-07T00:00:00+00:00" if now == "14:00" else "2026-12-06T00:00:00+00:00"
    )


def test_events_without_the_queue_url_name_the_file_the_key_and_the_variable(monkeypatch):
    monkeypatch.delenv(QUEUE_URL_ENV, raising=False)
    with pytest.raises(ConfigError) as error:
        raw_schedule(CONFIG, SOURCES)
    message = str(error.value)
    assert str(SOURCES) in message and "'events'" in message and QUEUE_URL_ENV in message


def test_the_watchers_sqs_trigger_can_make_its_async_client(monkeypatch):
    """The SQS trigger polls with aiobotocore, which the amazon provider does not require: an
    image without it fails the trigger every second and no landed file starts a run. (This runs
    in the image's test stage too.)"""
    import asyncio

    from airflow.providers.amazon.aws.hooks.sqs import SqsHook

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")

    async def service_name() -> str:
        hook = SqsHook(aws_conn_id=None, region_name="us-east-1")
        async with await hook.get_async_conn() as client:
            return client.meta.service_model.service_name

    assert asyncio.run(service_name()) == "sqs"
