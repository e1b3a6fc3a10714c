"""Alerts on the running stack: a load that fails for good publishes one message to the SNS topic
(moto; a subscribed SQS queue keeps it), naming DAG, run, task, error and log link; a successful
run publishes none; a run still unfinished `late_after_seconds` after it was queued publishes one
lateness alert (the DAG's Deadline Alert, sent by the triggerer)."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from local import alert_inbox
from local.processes import wait_until

from . import data
from .test_bad_data import csv, keyed

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("raw_layer_only")]


def test_a_failed_load_sends_one_alert_naming_it_and_a_good_run_sends_none(
    stack, snowflake, s3, sources_file
):
    settings, api = stack
    alert_inbox.take(settings.s3_endpoint)  # what earlier scenarios' failures sent
    config = data.config_of(sources_file)
    airports = config.source_named("airports")
    key = data.key_of(airports, "e2e-alert.csv")
    rows = keyed("airports", "ZT", 2)
    data.put(s3, key, csv("airports", [rows[0], "ZT9,Too Few"]))
    run = data.run_raw(api)
    assert run.state == "failed" and run.tasks["load_airports"] == "failed"

    received: list[dict] = []
    wait_until(lambda: received.extend(alert_inbox.take(settings.s3_endpoint)) or received, 60,
               "the failure alert", 1)  # fmt: skip
    time.sleep(5)  # a second alert would have arrived by now
    received += alert_inbox.take(settings.s3_endpoint)

    assert len(received) == 1, received
    (alert,) = received
    assert alert["subject"] == "[airflow] snowflake_raw.load_airports failed"
    lines = dict(line.split(":", 1) for line in alert["message"].splitlines())
    assert lines["DAG"].strip() == "snowflake_raw"
    assert lines["Run"].strip() == run.run_id
    assert lines["Task"].strip() == "load_airports (try 1)"
    assert "Expected Number of Columns: 8 Found: 2" in lines["Error"] and key in lines["Error"]
    link = f"http://localhost:{settings.api_port}/dags/snowflake_raw/runs/"
    assert lines["Log"].strip() == f"{link}{quote(run.run_id, safe='')}/tasks/load_airports"

    data.delete(s3, key)
    assert data.run_raw(api).state == "success"
    time.sleep(5)
    assert alert_inbox.take(settings.s3_endpoint) == []


def test_a_run_past_its_deadline_sends_one_lateness_alert(stack, sources_file):
    settings, api = stack
    # any run takes longer than 1 s: its deadline passes while it runs
    with data.sources_changed(stack, sources_file, lambda c: c.update(late_after_seconds=1)):
        alert_inbox.take(settings.s3_endpoint)
        run = data.run_raw(api)
        received: list[dict] = []
        wait_until(lambda: received.extend(alert_inbox.take(settings.s3_endpoint)) or received,
                   60, "the lateness alert", 1)  # fmt: skip
        time.sleep(5)  # a second alert would have arrived by now
        received += alert_inbox.take(settings.s3_endpoint)

    assert run.state == "success"  # late, not failed: the run goes on
    assert [a["subject"] for a in received] == ["[airflow] snowflake_raw run late"], received
    lines = dict(line.split(":", 1) for line in received[0]["message"].splitlines())
    assert lines["Run"].strip() == run.run_id
    assert lines["Late"].strip().startswith("not finished 0:00:01 after it was queued")
    link = f"http://localhost:{settings.api_port}/dags/snowflake_raw/runs/"
    assert lines["Log"].strip() == f"{link}{quote(run.run_id, safe='')}"
