"""Alerts: the failure message names DAG, run, task, the error's first line and the UI link;
the lateness message the run and how late; every task of both DAGs carries the failure callback
and snowflake_raw's Deadline Alert calls back in the triggerer. (Delivery to SNS and Slack:
test/local/test_alert_channels.py.)"""

from datetime import timedelta
from types import SimpleNamespace

from snowflake_pipeline.alerts import (
    SUBJECT_LIMIT,
    failure_message,
    late_message,
    notify_failure,
    raw_deadline,
)
from snowflake_pipeline.dag_defaults import DEFAULT_ARGS


def _context(task_id="load_weather", error="first line\nsecond line"):
    ti = SimpleNamespace(
        dag_id="snowflake_raw", run_id="manual__2026-12-05T05:00:00+00:00", task_id=task_id,
        try_number=3,
    )  # fmt: skip
    return {"ti": ti, "exception": RuntimeError(error)}


def test_the_message_names_dag_run_task_first_error_line_and_link(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    subject, message = failure_message(_context())
    assert subject == "[airflow] snowflake_raw.load_weather failed"
    assert message.splitlines() == [
        "DAG:   snowflake_raw",
        "Run:   manual__2026-12-05T05:00:00+00:00",
        "Task:  load_weather (try 3)",
        "Error: first line",
        "Log:   https://airflow.example.com/dags/snowflake_raw/runs/"
        "manual__2026-12-05T05%3A00%3A00%2B00%3A00/tasks/load_weather",
    ]


def test_a_long_task_id_keeps_the_subject_within_what_sns_accepts():
    subject, _ = failure_message(_context(task_id="check_" + "x" * 200))
    assert len(subject) == SUBJECT_LIMIT


def test_without_a_topic_nothing_is_sent(monkeypatch, caplog):
    monkeypatch.delenv("PIPELINE_ALERTS_TOPIC_ARN", raising=False)
    monkeypatch.delenv("PIPELINE_ALERTS_SLACK_SECRET_ARN", raising=False)
    caplog.set_level("INFO")
    notify_failure(_context())
    assert "no alert sent" in caplog.text


def test_both_dags_share_the_callback():
    assert DEFAULT_ARGS["on_failure_callback"] is notify_failure


def _late_context():
    run = {"dag_id": "snowflake_raw", "dag_run_id": "asset_triggered__2026-12-05T06:00:00+00:00",
           "queued_at": "2026-12-05T06:00:01Z", "state": "running"}  # fmt: skip
    return {"dag_run": run, "deadline": {"id": "d1", "deadline_time": "2026-12-05T07:00:01Z"}}


def test_the_lateness_message_names_the_run_how_late_and_links_it(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com")
    subject, message = late_message(_late_context(), 5400)
    assert subject == "[airflow] snowflake_raw run late"
    assert message.splitlines() == [
        "DAG:   snowflake_raw",
        "Run:   asset_triggered__2026-12-05T06:00:00+00:00",
        "Late:  not finished 1:30:00 after it was queued (2026-12-05T06:00:01Z); state running",
        "Log:   https://airflow.example.com/dags/snowflake_raw/runs/"
        "asset_triggered__2026-12-05T06%3A00%3A00%2B00%3A00",
    ]


def test_the_deadline_counts_from_queued_and_calls_back_in_the_triggerer():
    from airflow.sdk import AsyncCallback, DeadlineReference

    assert raw_deadline(None) is None
    deadline = raw_deadline(900)
    assert deadline.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert deadline.interval == timedelta(minutes=15)
    assert isinstance(deadline.callback, AsyncCallback)  # awaited by the triggerer
    assert deadline.callback.path == "snowflake_pipeline.alerts.notify_late"
    assert deadline.callback.kwargs == {"late_after_seconds": 900}
