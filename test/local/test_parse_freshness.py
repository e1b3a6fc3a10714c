"""`make run` and the scenarios wait for a parse of the DAGs that read the files as they are now.

Airflow stamps a DAG's last_parsed_time when it stores the parse, after the parse: a parse that
began before a sources file changed (and so read the old file) can carry a later stamp."""

from datetime import UTC, datetime, timedelta

from local.stack import _parse_started_at

CHANGED_AT = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)


def _dag(stored_after_change: float, duration: float | None) -> dict:
    stored = CHANGED_AT + timedelta(seconds=stored_after_change)
    return {"last_parsed_time": stored.isoformat(), "last_parse_duration": duration}


def test_a_parse_stored_after_the_change_that_began_before_it_is_not_fresh():
    # stored 0.5 s after the change by a parse that took 2 s: it began 1.5 s before the change
    assert _parse_started_at(_dag(0.5, 2.0)) < CHANGED_AT


def test_a_parse_that_began_after_the_change_is_fresh():
    assert _parse_started_at(_dag(3.0, 2.0)) > CHANGED_AT


def test_without_a_duration_the_stored_time_is_taken_and_none_without_a_parse():
    assert _parse_started_at(_dag(1.0, None)) == CHANGED_AT + timedelta(seconds=1)
    assert _parse_started_at({"last_parsed_time": None, "last_parse_duration": None}) is None
