"""Bad data in a stage: the failing source names file and line, loses nothing, and a re-run after
the fix loads exactly the missing rows. Other sources load as usual.

Rows added here are copies of real sample rows moved to a year (or key) of their own, so that the
dbt tests of the analytics layer (unique flight ids, one weather row per hour) still hold after the
fix.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import cache

import pandas as pd
import pytest

from local.samples import data_dir, weather_rows
from local.settings import LANDING_BUCKET

from . import data

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("raw_layer_only")]


@cache
def _lines(name: str) -> list[str]:
    return (data_dir() / f"{name}.csv").read_text().splitlines()


def weather(year: int, count: int) -> list[str]:
    return weather_rows(year, count)


def keyed(name: str, tag: str, count: int) -> list[str]:
    """Rows of a lookup table (airports, airlines) under new keys, so joins stay one-to-one."""
    return [f"{tag}{i}," + r.split(",", 1)[1] for i, r in enumerate(_lines(name)[1 : count + 1])]


def csv(name: str, rows: list[str]) -> str:
    return "\n".join([_lines(name)[0], *rows]) + "\n"


def flights(year: int, count: int) -> list[str]:
    frame = pd.read_csv(data_dir() / "flights.csv.zip", nrows=count)
    frame["year"] = year
    frame["time_hour"] = frame["time_hour"].str.replace("2013-", f"{year}-", regex=False)
    return frame.to_json(orient="records", lines=True).splitlines()


def planes(tag: str, count: int, without: str | None = None) -> bytes:
    frame = pd.read_csv(data_dir() / "planes.csv", nrows=count)
    frame["tailnum"] = [f"{tag}{i}" for i in range(count)]
    buffer = io.BytesIO()
    frame.drop(columns=[without] if without else []).to_parquet(buffer, index=False)
    return buffer.getvalue()


@dataclass(frozen=True)
class Scenario:
    id: str
    source: str
    file: str
    bad: object  # () -> bytes | str
    fixed: object  # () -> bytes | str, or None: the fix is to remove the object
    error: str  # regex the recorded error must match (besides naming the file)
    line: int | None  # the line the error must name


SCENARIOS = [
    Scenario(
        "malformed-json-line",
        "flights",
        "e2e-malformed.json",
        lambda: "\n".join(
            [*flights(2030, 2), '{"year": 2030, "month": oops}', *flights(2030, 4)[2:]]
        ),
        lambda: "\n".join(flights(2030, 4)),
        r"Malformed JSON",
        3,
    ),
    Scenario(
        "csv-too-many-columns",
        "weather",
        "e2e-too-many.csv",
        lambda: csv(
            "weather", [weather(2031, 3)[0], weather(2031, 3)[1] + ",99", weather(2031, 3)[2]]
        ),
        lambda: csv("weather", weather(2031, 3)),
        r"Expected Number of Columns: 15 Found: 16",
        3,
    ),
    Scenario(
        "csv-too-few-columns",
        "airports",
        "e2e-too-few.csv",
        lambda: csv(
            "airports",
            [keyed("airports", "ZA", 3)[0], "ZA1,Short Row", keyed("airports", "ZA", 3)[2]],
        ),
        lambda: csv("airports", keyed("airports", "ZA", 3)),
        r"Expected Number of Columns: 8 Found: 2",
        3,
    ),
    Scenario(
        "text-in-numeric-column",
        "weather",
        "e2e-text-in-number.csv",
        lambda: csv(
            "weather",
            [
                weather(2032, 2)[0],
                re.sub(r"^(\w+,\d+,\d+,\d+,\d+),[^,]*", r"\1,warm", weather(2032, 2)[1]),
            ],
        ),
        lambda: csv("weather", weather(2032, 2)),
        r'Could not convert string "warm"',
        3,
    ),
    Scenario(
        "empty-file",
        "airlines",
        "e2e-empty.csv",
        lambda: b"",
        lambda: csv("airlines", keyed("airlines", "Z", 2)),
        r"no data rows \(empty or header only\)",
        None,
    ),
    Scenario(
        "header-only-file",
        "airports",
        "e2e-header-only.csv",
        lambda: csv("airports", []),
        lambda: csv("airports", keyed("airports", "ZB", 2)),
        r"no data rows \(empty or header only\)",
        None,
    ),
    Scenario(
        "parquet-missing-required-column",
        "planes",
        "e2e-no-tailnum.parquet",
        lambda: planes("ZP", 3, without="tailnum"),
        lambda: planes("ZP", 3),
        r"NOT NULL constraint failed: PLANES\.TAILNUM",
        None,
    ),
    Scenario(
        "csv-object-in-json-source",
        "flights",
        "e2e-wrong-format.json",
        lambda: csv("weather", weather(2033, 2)),
        None,
        r"Malformed JSON",
        1,
    ),
    Scenario(
        "csv-object-in-parquet-source",
        "planes",
        "e2e-wrong-format.parquet",
        lambda: csv("planes", _lines("planes")[1:3]),
        None,
        r"[Pp]arquet",
        None,
    ),
]


def _waves(scenarios: list[Scenario]) -> list[list[Scenario]]:
    """The scenarios in waves of one bad file per source, landed at once: a source's load stops
    at its first bad file, and the sources load independently, so one pair of runs (the failing
    run, the run after the fixes) proves a whole wave. Two waves instead of nine pairs of runs."""
    waves: list[list[Scenario]] = []
    for case in scenarios:
        wave = next((w for w in waves if all(c.source != case.source for c in w)), None)
        if wave is None:
            waves.append(wave := [])
        wave.append(case)
    return waves


WAVES = _waves(SCENARIOS)


@pytest.mark.parametrize("wave", WAVES, ids=["+".join(c.id for c in w) for w in WAVES])
def test_bad_files_fail_their_sources_only_and_the_fixes_load_exactly_once(
    stack, snowflake, s3, sources_file, wave
):
    _, api = stack
    config = data.config_of(sources_file)
    keys = {case.id: data.key_of(config.source_named(case.source), case.file) for case in wave}
    before = data.raw_counts(snowflake, config)
    bad = {case.id: case.bad() for case in wave}
    for case in wave:
        data.put(s3, keys[case.id], bad[case.id])
    try:
        _fail_their_sources_only_then_the_fixes_are_exact(
            api, snowflake, s3, config, wave, keys, before
        )
    except BaseException:
        # The next wave must not meet this one's bad files (a fixed one stays: it was loaded).
        for case in wave:
            landed = s3.get_object(Bucket=LANDING_BUCKET, Key=keys[case.id])["Body"].read()
            body = bad[case.id]
            if landed == (body.encode() if isinstance(body, str) else body):
                data.delete(s3, keys[case.id])
        raise


def _fail_their_sources_only_then_the_fixes_are_exact(
    api, snowflake, s3, config, wave, keys, before
):
    failing = {case.source for case in wave}
    run = data.run_raw(api)

    # Only the sources with a bad file fail; the others load (nothing new for them here).
    assert run.state == "failed"
    assert run.tasks == {
        "publish_loaded_tables": "upstream_failed",
        **{f"load_{s.name}": "failed" if s.name in failing else "success" for s in config.sources},
    }
    # Each error names its file (and the line, where the format has lines) in the audit table ...
    failures = data.failures_of_run(snowflake, config, run.run_id)
    assert sorted(source for source, _file, _error in failures) == sorted(failing), failures
    errors = {source: (file, error) for source, file, error in failures}
    for case in wave:
        failed_file, first_error = errors[case.source]
        assert failed_file.endswith(keys[case.id]), (case.id, failed_file)
        assert re.search(case.error, first_error), (case.id, first_error)
        if case.line:
            assert first_error.rstrip().endswith(f"line {case.line}"), (case.id, first_error)
        # ... and in the task's log, with the source, for whoever reads the Airflow UI.
        log = data.task_log(api, run.run_id, f"load_{case.source}")
        assert f"source '{case.source}'" in log and case.file in log, case.id
    # Nothing already loaded is lost, and nothing of a bad file's COPY was kept; the other
    # sources hold every row of their files.
    tables = {config.table_of(config.source_named(case.source)) for case in wave}
    after = data.raw_counts(snowflake, config)
    assert {t: after[t] for t in tables} == {t: before[t] for t in tables}
    expected = data.expected_raw_counts(s3, config, but=failing)
    assert {t: n for t, n in after.items() if t not in tables} == expected

    for case in wave:
        if case.fixed is None:
            data.delete(s3, keys[case.id])
        else:
            data.put(s3, keys[case.id], case.fixed())
    run = data.run_raw(api)

    assert run.state == "success", run.tasks
    # Exact totals: every row of every file in the bucket, once.
    assert data.raw_counts(snowflake, config) == data.expected_raw_counts(s3, config)
    assert data.files_loaded_twice(snowflake, config) == []
