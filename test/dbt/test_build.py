"""The dbt project (dbt/) on the Snowflake emulator over TLS, as `make dbt` runs it: real moto and
fakesnow processes, the sample data loaded by the pipeline's own load, no mocks.

One scenario, in order: `dbt build` gives the tables with the row counts of the sources and the
figures of an independent pandas computation; after
an emulator restart a build reads every database; a new month of flights adds only its rows to the
incremental model; `--full-refresh` gives the same table; a flights table from before the model
is refused with the command that rebuilds it; a failing test fails the build, naming model and
test, and what is downstream is skipped.
"""

import json
import os
import time
from contextlib import closing
from decimal import Decimal

import pytest
from snowflake.connector.errors import ProgrammingError

from bench.flights_10x import shift_years
from local import dbt, processes, samples, stack
from local.airflow_env import connect_snowflake, connection_env
from local.settings import LANDING_BUCKET, Settings
from snowflake_pipeline import account_setup
from snowflake_pipeline.config import load_config
from snowflake_pipeline.load import load_source
from test.e2e.expected import delays_by_origin_quarter, source_frames

# Minutes of emulator start, sample load and five dbt builds: beside the end-to-end tiers.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

MARTS = ("flights", "dim_date", "flights_enriched", "delays_by_origin_quarter")
ANALYTICS = "analytics.nycflights"  # where dbt builds (analytics.yml's analytics_schema)


@pytest.fixture(scope="module")
def emulators(tmp_path_factory):
    """moto S3 and fakesnow over TLS, as the local stack starts them; the samples landed, the
    account set up, every source loaded by the pipeline's load."""
    settings = Settings.on_free_ports(tmp_path_factory.mktemp("stack"))
    saved = os.environ.get("REQUESTS_CA_BUNDLE")
    try:
        stack.start_emulators(settings, echo=lambda _line: None)
        samples.land(stack.s3_client(settings), LANDING_BUCKET, echo=lambda _line: None)
        config = load_config()
        _set_up_account(settings, config)
        with closing(connect_snowflake(settings)) as conn:
            for source in config.sources:
                load_source(conn, config, source, "dbt-test-1")
        yield settings, config
    finally:
        stack.down(settings, echo=lambda _line: None)
        if saved is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = saved


def _set_up_account(settings, config):
    variables = account_setup.variables_from_env(connection_env(settings))
    with closing(connect_snowflake(settings)) as conn:
        account_setup.apply(conn, variables, config, echo=lambda _line: None)


@pytest.fixture(scope="module")
def run_dbt(emulators, tmp_path_factory):
    """dbt ARGS on the emulators, as `make dbt` runs it; its run_results.json as a dict."""
    settings, _ = emulators
    target = tmp_path_factory.mktemp("dbt-target")
    made = dbt.dbt_env(settings)
    # no usage statistics: dbt's (its own flag is also off in dbt_project.yml) and Cosmos's
    assert made["DO_NOT_TRACK"] == "1" and made["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] == "False"
    env = {
        **made,
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(tmp_path_factory.mktemp("dbt-logs")),
    }

    def run(*args: str, expect_success: bool = True) -> tuple[dict, str]:
        started = time.monotonic()
        done = dbt.run(settings, list(args), env, capture_output=True, text=True)
        output = done.stdout + done.stderr
        assert (done.returncode == 0) is expect_success, output[-4000:]
        results = json.loads((target / "run_results.json").read_text())
        wall, inside = time.monotonic() - started, results["elapsed_time"]
        print(f"\ndbt {' '.join(args)}: {wall:.1f} s wall, {inside:.1f} s in dbt's run")
        return results, output

    return run


def _query(settings, sql: str) -> list[tuple]:
    with closing(connect_snowflake(settings)) as conn, closing(conn.cursor()) as cur:
        return [tuple(row) for row in cur.execute(sql).fetchall()]


def _columns(settings, qualified: str) -> list[str]:
    database, schema, table = qualified.upper().split(".")
    return [
        name.lower()
        for (name,) in _query(
            settings,
            f"SELECT column_name FROM {database}.information_schema.columns WHERE table_schema = "
            f"'{schema}' AND table_name = '{table}' ORDER BY ordinal_position",
        )
    ]


def _differences(settings, left: str, right: str, columns: list[str]) -> tuple[int, int, int, int]:
    """Rows of each table, and rows of each that the other lacks (over `columns`)."""
    names = ", ".join(columns)
    (counts,) = _query(
        settings,
        f"SELECT (SELECT COUNT(*) FROM {left}), (SELECT COUNT(*) FROM {right}), "
        f"(SELECT COUNT(*) FROM (SELECT {names} FROM {left} EXCEPT SELECT {names} FROM {right})), "
        f"(SELECT COUNT(*) FROM (SELECT {names} FROM {right} EXCEPT SELECT {names} FROM {left}))",
    )
    return counts


def _elapsed(results: dict, unique_id: str) -> float:
    return next(r["execution_time"] for r in results["results"] if r["unique_id"] == unique_id)


def test_dbt_builds_todays_tables_then_increments_and_full_refreshes(emulators, run_dbt):
    settings, config = emulators
    sources = source_frames()

    # 1. The first build: every model and test passes, with the independent figures.
    results, _ = run_dbt("build")
    assert {r["status"] for r in results["results"]} == {"success", "pass"}
    counts = {m: _query(settings, f"SELECT COUNT(*) FROM {ANALYTICS}.{m}")[0][0] for m in MARTS}
    flights = len(sources["flights"])
    assert counts == {
        "flights": flights,
        "dim_date": 365,
        "flights_enriched": flights,
        "delays_by_origin_quarter": 12,
    }
    delays = _query(
        settings,
        f"SELECT origin, quarter, avg_dep_delay_minutes FROM {ANALYTICS}.delays_by_origin_quarter",
    )
    got = {(o, int(q)): Decimal(str(d)).quantize(Decimal("0.01")) for o, q, d in delays}
    assert got == delays_by_origin_quarter(sources["flights"])

    # 2. After an emulator restart, dbt (whose session logs in to `analytics`) still reads `raw`;
    #    with nothing new loaded, the incremental run adds nothing.
    processes.stop(settings, "snowflake")
    stack.start_emulators(settings, echo=lambda _line: None)
    results, _ = run_dbt("build", "-s", "flights")  # dbt's are the first sessions
    assert _query(settings, f"SELECT COUNT(*) FROM {ANALYTICS}.flights") == [(flights,)]
    # and a statement the emulator cannot run fails at once, not after the connector's retries
    started = time.monotonic()
    with pytest.raises(ProgrammingError, match="Invalid Input Error"):
        _query(settings, "SELECT REGEXP_LIKE('a', '(')")
    assert time.monotonic() - started < 10

    # 3. A new month of flights (January 2013's, a year later) adds only its rows.
    _set_up_account(settings, config)  # a restarted emulator has forgotten its stages
    january = sources["flights"][sources["flights"]["month"] == 1]
    new_month = shift_years(january, 1)
    stack.s3_client(settings).put_object(
        Bucket=LANDING_BUCKET,
        Key=f"{samples.LANDING_PREFIX}flights/2014-01.json",
        Body=new_month.to_json(orient="records", lines=True).encode(),
    )
    with closing(connect_snowflake(settings)) as conn:
        loaded = load_source(conn, config, config.source_named("flights"), "dbt-test-2")
    assert loaded.rows_loaded == len(new_month)
    fingerprint = (
        f"SELECT COUNT(*), SUM(dep_delay), SUM(distance), MIN(flight_id), MAX(flight_id), "
        f"MAX(_loaded_at) FROM {ANALYTICS}.flights"
    )
    (kept,) = _query(settings, fingerprint)
    # what a new month changes (the first build proved the rest): flights, what reads it, dates
    results, _ = run_dbt("build", "-s", "flights+", "dim_date")
    assert {r["status"] for r in results["results"]} == {"success", "pass"}
    (model,) = [r for r in results["results"] if r["unique_id"] == "model.analytics.flights"]
    assert model["adapter_response"]["rows_affected"] == len(new_month)  # rows inserted
    assert _query(settings, f"SELECT COUNT(*) FROM {ANALYTICS}.flights") == [
        (flights + len(new_month),)
    ]
    (old_rows,) = _query(settings, fingerprint + f" WHERE _loaded_at <= '{kept[5].isoformat()}'")
    assert old_rows == kept  # the rows before are untouched
    (added,) = _query(
        settings,
        f"SELECT COUNT(*), SUM(dep_delay) FROM {ANALYTICS}.flights "
        f"WHERE _loaded_at > '{kept[5].isoformat()}'",
    )
    assert added == (len(new_month), int(new_month["dep_delay"].sum()))
    quarters = _query(
        settings,
        f"SELECT year, quarter, SUM(flights) FROM {ANALYTICS}.delays_by_origin_quarter "
        "WHERE year = 2014 GROUP BY year, quarter",
    )
    assert quarters == [(2014, 1, len(new_month))]
    incremental_seconds = _elapsed(results, "model.analytics.flights")

    # 4. A full refresh rebuilds flights from every raw row: the same table, _loaded_at included.
    snapshot = f"{ANALYTICS}.flights_before_full_refresh"  # not a model: dbt leaves it
    _query(settings, f"CREATE OR REPLACE TABLE {snapshot} AS SELECT * FROM {ANALYTICS}.flights")
    results, _ = run_dbt("build", "--full-refresh", "-s", "flights")
    every = _columns(settings, f"{ANALYTICS}.flights")
    left, right, only_left, only_right = _differences(
        settings, f"{ANALYTICS}.flights", snapshot, every
    )
    assert (left, right, only_left, only_right) == (flights + len(new_month),) * 2 + (0, 0)
    full_seconds = _elapsed(results, "model.analytics.flights")
    print(f"\nflights model: incremental {incremental_seconds:.2f} s, full {full_seconds:.2f} s")

    # 5. A flights table from before this model (the SQL layer's, without _loaded_at) stops the
    #    incremental build with the command that fixes it; that command gives the same table.
    before_dbt = ", ".join(c for c in every if c != "_loaded_at")
    _query(
        settings,
        f"CREATE OR REPLACE TABLE {ANALYTICS}.flights AS SELECT {before_dbt} FROM {snapshot}",
    )
    _, output = run_dbt("build", "-s", "flights", expect_success=False)
    assert f"{ANALYTICS}.flights has no column _loaded_at" in output.lower().replace('"', "")
    assert 'make dbt ARGS="build --full-refresh -s flights+"' in output
    run_dbt("build", "--full-refresh", "-s", "flights+")
    assert _differences(settings, f"{ANALYTICS}.flights", snapshot, every) == (
        (flights + len(new_month),) * 2 + (0, 0)
    )

    # 6. A failing test fails the build naming the model and the test; downstream is skipped.
    departed = new_month[new_month["dep_time"].notna()].head(1)
    late = departed.assign(year=2015, time_hour="2015-01-01T10:00:00Z", dep_delay=5000)
    stack.s3_client(settings).put_object(
        Bucket=LANDING_BUCKET,
        Key=f"{samples.LANDING_PREFIX}flights/2015-01.json",
        Body=late.to_json(orient="records", lines=True).encode(),
    )
    with closing(connect_snowflake(settings)) as conn:
        load_source(conn, config, config.source_named("flights"), "dbt-test-3")
    results, output = run_dbt("build", "-s", "flights+", "dim_date", expect_success=False)
    status = {r["unique_id"].split(".")[2]: r["status"] for r in results["results"]}
    failed = [name for name, state in status.items() if state == "fail"]
    assert len(failed) == 1, failed
    assert failed[0].startswith("in_range_flights") and "dep_delay" in failed[0]
    assert status["flights"] == "success"
    assert status["flights_enriched"] == status["delays_by_origin_quarter"] == "skipped"
    assert "Failure in test in_range_flights" in output and "models/marts/_marts.yml" in output
