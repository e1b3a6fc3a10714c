"""Faults while a raw run is in flight: emulators down, scheduler killed, api-server restarted,
overlapping runs. Each run must complete once the fault is gone, with every file loaded once.

Every test lands files of its own first (sample rows moved to a year of their own), so that the
run has real work when the fault hits.
"""

from __future__ import annotations

import re

import pytest

from local import processes
from local import stack as stack_mod
from local.processes import wait_until
from local.settings import HOST, LANDING_BUCKET

from . import data
from .test_bad_data import csv, flights, weather

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("raw_layer_only")]


def _land_new_files(s3, config, tag: str, year: int) -> None:
    by_name = {s.name: s for s in config.sources}
    data.put(s3, data.key_of(by_name["flights"], f"{tag}.json"), "\n".join(flights(year, 3000)))
    data.put(s3, data.key_of(by_name["weather"], f"{tag}.csv"), csv("weather", weather(year, 500)))


def _retried(api, run_id: str) -> list[str]:
    return [t for t, ti in data.task_instances(api, run_id).items() if ti["try_number"] > 1]


def _assert_exact(snowflake, s3, config) -> None:
    assert data.raw_counts(snowflake, config) == data.expected_raw_counts(s3, config)
    assert data.files_loaded_twice(snowflake, config) == []


def _run_with_a_load_running(api, s3, config, tag: str, year: int) -> str:
    """Land new files, trigger snowflake_raw, return its run id once a load task is running."""
    _land_new_files(s3, config, tag, year)
    run_id = data.pipeline.trigger_raw(api, note=tag)
    wait_until(lambda: data.tasks_in_state(api, run_id, "running"), 180, "a load running")
    return run_id


def _restart(settings, api) -> None:
    """`make run`'s up(): it restarts what is not running, and leaves the pause of
    snowflake_analytics (conftest's raw_layer_only) as it found it."""
    stack_mod.up(settings, echo=lambda _line: None)
    assert api.dag(data.pipeline.ANALYTICS)["is_paused"], "up() undid a pause it did not make"


def _completes(api, run_id: str) -> data.pipeline.RunOutcome:
    run = data.pipeline.follow(api, data.pipeline.RAW, run_id, 900, echo=lambda _line: None)
    assert run.state == "success", run.tasks
    return run


def test_snowflake_down_during_raw_load_is_retried_then_completes(stack, s3, sources_file):
    settings, api = stack
    config = data.config_of(sources_file)
    run_id = _run_with_a_load_running(api, s3, config, "fault-snowflake", 2040)
    assert processes.kill(settings, "snowflake")

    # The loads fail to reach Snowflake and wait for their retry (backoff), not fail for good.
    wait_until(lambda: data.tasks_in_state(api, run_id, "up_for_retry"), 180, "a load up for retry")
    log = "\n".join(
        data.task_log(api, run_id, t) for t in data.tasks_in_state(api, run_id, "up_for_retry")
    )
    # The error names the Snowflake endpoint that was unreachable (the connector writes it as
    # host:port, or urllib3 as host='...', port=...), not merely any Snowflake-related text.
    endpoint = re.compile(rf"{re.escape(HOST)}(:|', port=){settings.snowflake_port}\b")
    assert endpoint.search(log), log[-3000:]
    _restart(settings, api)

    _completes(api, run_id)
    assert _retried(api, run_id)
    from local.airflow_env import connect_snowflake

    with connect_snowflake(settings) as snowflake:
        _assert_exact(snowflake, s3, config)


def test_s3_unreachable_gives_a_clear_error_retries_and_keeps_no_partial_state(
    stack, snowflake, s3, sources_file
):
    settings, api = stack
    config = data.config_of(sources_file)
    _land_new_files(s3, config, "fault-s3", 2041)
    before = data.raw_counts(snowflake, config)
    # moto keeps objects in memory: keep a copy to land again, as the upstream would re-deliver.
    landed = {
        key: s3.get_object(Bucket=LANDING_BUCKET, Key=key)["Body"].read()
        for source in config.sources
        for key in data.objects(s3, source)
    }
    assert processes.kill(settings, "s3")

    run_id = data.pipeline.trigger_raw(api, note="fault: s3 down")
    retrying = wait_until(
        lambda: data.tasks_in_state(api, run_id, "up_for_retry"), 300, "a load up for retry"
    )
    log = data.task_log(api, run_id, retrying[0])
    assert "Failure using stage area" in log and "not because of the data" in log
    assert data.raw_counts(snowflake, config) == before  # nothing partial

    stack_mod.start_services(settings, echo=lambda _line: None)
    s3.create_bucket(Bucket=LANDING_BUCKET)
    for key, body in landed.items():
        data.put(s3, key, body)
    _completes(api, run_id)
    assert _retried(api, run_id)
    assert data.files_loaded_twice(snowflake, config) == []
    # A retry may have run before every file was landed again; the next run loads the rest.
    rerun = data.run_raw(api)
    assert rerun.state == "success", rerun.tasks
    _assert_exact(snowflake, s3, config)


def test_scheduler_killed_mid_run_and_restarted_completes_without_double_loads(
    stack, snowflake, s3, sources_file
):
    settings, api = stack
    config = data.config_of(sources_file)
    run_id = _run_with_a_load_running(api, s3, config, "fault-scheduler", 2042)
    # SIGKILL to the scheduler and everything it started (executor workers, running tasks).
    assert processes.kill(settings, "scheduler")
    killed = data.tasks_in_state(api, run_id, "running")
    _restart(settings, api)

    _completes(api, run_id)
    # The loads that were running died with the scheduler: each was failed for lack of
    # heartbeat and retried, never reported done by a process that no longer exists.
    tries = {t: ti["try_number"] for t, ti in data.task_instances(api, run_id).items()}
    assert killed and all(tries[t] > 1 for t in killed), (killed, tries)
    _assert_exact(snowflake, s3, config)


def test_api_server_restarted_during_a_run_the_run_completes(stack, snowflake, s3, sources_file):
    settings, api = stack
    config = data.config_of(sources_file)
    run_id = _run_with_a_load_running(api, s3, config, "fault-api-server", 2043)
    assert processes.stop(settings, "api-server")
    _restart(settings, api)

    _completes(api, run_id)
    _assert_exact(snowflake, s3, config)


def test_overlapping_raw_runs_load_each_file_once(stack, snowflake, s3, sources_file):
    _, api = stack
    config = data.config_of(sources_file)
    _land_new_files(s3, config, "fault-overlap", 2044)
    scheduled_like = data.pipeline.trigger_raw(api, note="first run")
    manual = data.pipeline.trigger_raw(api, note="manual trigger during the first run")

    for run_id in (scheduled_like, manual):
        _completes(api, run_id)
    _assert_exact(snowflake, s3, config)
    with snowflake.cursor() as cur:
        loaded = cur.execute(
            f"SELECT dag_run_id, COUNT(*) FROM {config.audit_table} "
            "WHERE status = 'LOADED' AND file LIKE '%fault-overlap%' GROUP BY dag_run_id"
        ).fetchall()
    assert loaded == [(scheduled_like, 2)]  # the new files, once, by the first run


def test_make_run_leaves_a_pause_it_did_not_make_and_says_what_it_means(
    stack, snowflake, s3, sources_file
):
    """A paused snowflake_raw: the run is refused at once, naming it, and nothing is triggered.
    A paused snowflake_analytics (this module's scenarios): the raw run loads and is reported,
    and the run says that no analytics run was queued, instead of waiting for one."""
    settings, api = stack
    config = data.config_of(sources_file)
    newest_before = [r["dag_run_id"] for r in api.dag_runs(data.pipeline.RAW, limit=1)]
    api.pause(data.pipeline.RAW)
    try:
        stack_mod.up(settings, echo=lambda _line: None)
        assert api.dag(data.pipeline.RAW)["is_paused"]
        with pytest.raises(data.pipeline.DagPaused, match="snowflake_raw is paused"):
            data.pipeline.run_pipeline(api, echo=lambda _line: None)
        newest = [r["dag_run_id"] for r in api.dag_runs(data.pipeline.RAW, limit=1)]
        assert newest == newest_before, "make run triggered a run of the paused DAG"
    finally:
        api.unpause(data.pipeline.RAW)

    _land_new_files(s3, config, "fault-paused", 2046)
    said: list[str] = []
    outcomes = data.pipeline.run_pipeline(api, timeout=600, echo=said.append)
    assert [(o.dag_id, o.state) for o in outcomes] == [(data.pipeline.RAW, "success")]
    assert any("snowflake_analytics is paused: no run queued" in line for line in said), said
    _assert_exact(snowflake, s3, config)
