"""Event-driven loads: S3 ObjectCreated notifications, held by an SQS queue, start snowflake_raw.

An Asset with an AssetWatcher on the common-messaging provider's MessageQueueTrigger (scheme sqs)
schedules the DAG; a run from events loads only the sources whose prefixes received files.

Delivery is at most once and that is harmless: the trigger deletes messages on receipt, so one
can be lost, but COPY loads every new file under a prefix, so the next event or the safety
schedule loads whatever a lost message named. Test events, keys outside every source's prefix
and files deleted before the load change nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote_plus

from snowflake_pipeline.config import ConfigError, PipelineConfig

QUEUE_URL_ENV = "PIPELINE_EVENT_QUEUE_URL"
LANDED_FILES = "s3_landing_events"  # the Asset the queue's watcher updates


def cron_timetable(cron: str):
    """A cron schedule that fires at its times only. Airflow's default (a bare cron string, or
    run_immediately=False) also runs the last past time at once when the DAG is first seen, if it
    is under a tenth of the interval ago: a stack started up to 2.4 h after midnight UTC ran @daily
    at once, loaded everything in a run nobody asked for, and left the first triggered run
    nothing to load."""
    from airflow.sdk import CronTriggerTimetable

    return CronTriggerTimetable(cron, timezone="UTC", run_immediately=timedelta(0))


def raw_schedule(config: PipelineConfig, origin: Path):
    """snowflake_raw's schedule: its cron, the landing queue's events, or both (either one)."""
    if config.events is None:
        return None if config.schedule is None else cron_timetable(config.schedule)
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
    from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher

    queue_url = os.environ.get(QUEUE_URL_ENV)
    if not queue_url:
        raise ConfigError(
            f"{origin}: key 'events' starts snowflake_raw from the landing bucket's event queue, "
            f"but {QUEUE_URL_ENV} is not set: set it to the queue's URL (the storage stack's "
            "EventQueueUrl output; `make run` and compose set it) or remove 'events'"
        )
    events = config.events
    trigger = MessageQueueTrigger(
        scheme="sqs",
        sqs_queue=queue_url,
        aws_conn_id=events.aws_connection_id,
        max_messages=events.max_messages,
        num_batches=events.batches,
        waiter_delay=events.poll_seconds,
    )
    watcher = AssetWatcher(name="landing_queue", trigger=trigger)
    landed = Asset(name=LANDED_FILES, watchers=[watcher])
    if config.schedule is None:
        return [landed]
    return AssetOrTimeSchedule(timetable=cron_timetable(config.schedule), assets=landed)


@dataclass
class Landed:
    """What a run's landing events name: keys per source, and what they do not load."""

    keys: dict[str, list[str]] = field(default_factory=dict)  # source name -> keys
    outside: list[str] = field(default_factory=list)  # under no source's prefix
    test_events: int = 0  # S3's s3:TestEvent when a notification is configured


def event_keys(extras: Iterable[Mapping]) -> tuple[list[str], int]:
    """The S3 object keys in asset events' extras (the trigger's message batches), decoded:
    moto encodes '/' as %2F, AWS does not. Also the number of S3 test events."""
    keys, tests = [], 0
    for extra in extras:
        for message in (extra.get("payload") or {}).get("message_batch") or []:
            try:
                body = json.loads(message.get("Body") or "{}")
            except ValueError:
                continue
            if body.get("Event") == "s3:TestEvent":
                tests += 1
            for record in body.get("Records") or []:
                key = ((record.get("s3") or {}).get("object") or {}).get("key")
                if key:
                    keys.append(unquote_plus(key))
    return keys, tests


def route(config: PipelineConfig, extras: Iterable[Mapping]) -> Landed:
    keys, tests = event_keys(extras)
    landed = Landed(test_events=tests)
    stage_path = config.events.stage_path if config.events else ""
    for key in dict.fromkeys(keys):
        owners = [s.name for s in config.sources if key.startswith(stage_path + s.prefix)]
        for name in owners:
            landed.keys.setdefault(name, []).append(key)
        if not owners:
            landed.outside.append(key)
    return landed


def landing_extras(triggering_asset_events) -> list[Mapping] | None:
    """The extras of the run's landing events; None when the run did not come from them (a
    manual or scheduled run loads every source)."""
    extras = [
        event.extra
        for asset, events in (triggering_asset_events or {}).items()
        if getattr(asset, "name", None) == LANDED_FILES
        for event in events
    ]
    return extras or None
