"""Failure alerts: the message names DAG, run, task, the error's first line and the UI link;
every task of both DAGs carries the callback."""

from types import SimpleNamespace

from snowflake_pipeline.alerts import SUBJECT_LIMIT, failure_message, notify_failure
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
    caplog.set_level("INFO")
    notify_failure(_context())
    assert "no failure alert sent" in caplog.text


def test_both_dags_share_the_callback():
    assert DEFAULT_ARGS["on_failure_callback"] is notify_failure
