"""Files as they really land, configured by the sources file only: a JSON export that is one
array, gzip and zstd CSV under date-partitioned folders with a YYYY/MM/DD date column, and the
_SUCCESS and manifest files an exporter leaves beside them (skipped by the source's pattern);
lineage columns that name each row's file and record number; `on_error: skip_file` with one bad
file among good ones, then the fix.

The expected rows are the ones this test writes, not anything the pipeline computes.
"""

from __future__ import annotations

import datetime
import gzip
import json

import pytest
import yaml

from local import report
from local.processes import wait_until
from local.samples import LANDING_PREFIX
from local.settings import LANDING_BUCKET
from test.compressed import zstd

from . import data

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("raw_layer_only")]

ARRAY = [{"id": i, "city": f"city-{i}", "tags": ["a", "b"][: i % 3]} for i in range(7)]
DAYS = {
    # key under the events prefix -> rows (id, day, amount); compression by the extension
    "2024/05/01/part-0001.csv.gz": [(1, datetime.date(2024, 5, 1), 1.5), (2, None, 2.25)],
    "2024/05/02/part-0001.csv.zst": [(3, datetime.date(2024, 5, 2), 3.0)],
    "2024/05/03/part-0002.csv": [(4, datetime.date(2024, 12, 31), -4.75)],
}
LEFT_BESIDE = ("2024/05/01/_SUCCESS", "2024/05/02/_SUCCESS", "manifest.json")


def _csv(rows) -> str:
    lines = ["id,day,amount"]
    lines += [f"{i},{d.strftime('%Y/%m/%d') if d else ''},{a}" for i, d, a in rows]
    return "\n".join(lines) + "\n"


def test_array_json_compressed_partitioned_csv_and_a_pattern_load_exactly(
    stack, snowflake, s3, sources_file
):
    _, api = stack
    config_data = yaml.safe_load(sources_file.read_text())
    config_data["sources"] += [
        {
            "name": "e2e_array",
            "prefix": "e2e_array/",
            "format": {"type": "json", "strip_outer_array": True},
            "table": "e2e_array",
            "lineage": True,
        },
        {
            "name": "e2e_events",
            "prefix": "e2e_events/",
            "format": {"type": "csv", "skip_header": 1, "date_format": "YYYY/MM/DD"},
            "pattern": ".*/part-[0-9]+[.]csv([.](gz|zst))?",
            "table": "e2e_events",
            "lineage": True,
            "columns": [
                {"name": "id", "type": "INTEGER", "required": True},
                {"name": "day", "type": "DATE"},
                {"name": "amount", "type": "FLOAT"},
            ],
        },
    ]
    data.put(s3, "landing/e2e_array/export.json", json.dumps(ARRAY, indent=2))
    for key, rows in DAYS.items():
        text = _csv(rows)
        if key.endswith(".gz"):
            body = gzip.compress(text.encode())
        elif key.endswith(".zst"):
            body = zstd(text.encode())
        else:
            body = text
        data.put(s3, f"landing/e2e_events/{key}", body)
    for key in LEFT_BESIDE:
        data.put(s3, f"landing/e2e_events/{key}", "" if "_SUCCESS" in key else '{"files": 3}')

    sources_file.write_text(yaml.safe_dump(config_data, sort_keys=False))
    wait_until(
        lambda: {"load_e2e_array", "load_e2e_events"} <= set(api.task_ids("snowflake_raw")),
        120,
        "the dag-processor to re-parse snowflake_raw with the new sources",
        interval=2,
    )
    config = data.config_of(sources_file)
    run = data.run_raw(api)

    assert run.state == "success", run.tasks
    with snowflake.cursor() as cur:
        array = cur.execute(
            "SELECT src:id::INTEGER, src:city::VARCHAR, _file_name, _file_row_number "
            f"FROM {config.raw_schema}.e2e_array ORDER BY 1"
        ).fetchall()
        events = cur.execute(
            "SELECT id, day, amount, _file_name, _file_row_number, _loaded_at IS NOT NULL "
            f"FROM {config.raw_schema}.e2e_events ORDER BY id"
        ).fetchall()
        flights_lineage = cur.execute(
            "SELECT _file_name, COUNT(*), MIN(_file_row_number), MAX(_file_row_number) "
            f"FROM {config.raw_schema}.flights GROUP BY 1"
        ).fetchall()
        audited = cur.execute(
            f"SELECT file, rows_loaded FROM {config.audit_table} "
            "WHERE dag_run_id = %s AND source = 'e2e_events' AND status = 'LOADED'",
            (run.run_id,),
        ).fetchall()
    # Each row names its file (its path in the stage) and its record number in that file.
    assert array == [
        (r["id"], r["city"], "e2e_array/export.json", n + 1) for n, r in enumerate(ARRAY)
    ]
    assert events == [
        (*row, f"e2e_events/{key}", number, True)
        for key, rows in DAYS.items()
        for number, row in enumerate(rows, start=1)
    ]
    # The sample config's flights (lineage on): every file, each line numbered once.
    flights = next(source for source in config.sources if source.name == "flights")
    lines = {
        key.removeprefix(LANDING_PREFIX): data.rows_in(
            s3.get_object(Bucket=LANDING_BUCKET, Key=key)["Body"].read(), flights
        )
        for key in data.objects(s3, flights)
    }
    assert sorted(flights_lineage) == sorted((file, n, 1, n) for file, n in lines.items())
    # Exactly the data files, each with its rows; nothing left beside them was read.
    assert sorted((f.split("landing/e2e_events/")[-1], n) for f, n in audited) == sorted(
        (key, len(rows)) for key, rows in DAYS.items()
    )


SKIPPED = {
    # file -> (rows as landed, rows that load); the bad file's line 3 has text in the id column
    "good-1.csv": ["1,one", "2,two"],
    "bad.csv": ["3,three", "four,4", "5,five"],
    "good-2.csv": ["6,six"],
}
FIXED = ["3,three", "4,four", "5,five"]


def _words(lines: list[str]) -> str:
    return "id,word\n" + "".join(f"{line}\n" for line in lines)


def _rows(lines: list[str]) -> list[tuple[int, str]]:
    return [(int(i), w) for i, w in (line.split(",") for line in lines)]


def test_skip_file_keeps_good_files_fails_the_task_named_and_the_fix_loads_only_the_skipped(
    stack, snowflake, s3, sources_file
):
    settings, api = stack
    config_data = yaml.safe_load(sources_file.read_text())
    config_data["sources"].append(
        {
            "name": "e2e_skip",
            "prefix": "e2e_skip/",
            "format": {"type": "csv", "skip_header": 1},
            "table": "e2e_skip",
            "on_error": "skip_file",
            "columns": [{"name": "id", "type": "INTEGER"}, {"name": "word", "type": "VARCHAR"}],
        }
    )
    for name, lines in SKIPPED.items():
        data.put(s3, f"landing/e2e_skip/{name}", _words(lines))
    sources_file.write_text(yaml.safe_dump(config_data, sort_keys=False))
    wait_until(
        lambda: "load_e2e_skip" in api.task_ids("snowflake_raw"),
        120,
        "the dag-processor to re-parse snowflake_raw with the new source",
        interval=2,
    )
    config = data.config_of(sources_file)
    table = f"{config.raw_schema}.e2e_skip"
    run = data.run_raw(api)

    # The source fails (not green), once: a bad file stays bad on retry. The others succeed.
    assert run.state == "failed"
    assert run.tasks["load_e2e_skip"] == "failed"
    assert run.tasks["publish_loaded_tables"] == "upstream_failed"
    assert data.task_instances(api, run.run_id)["load_e2e_skip"]["try_number"] == 1
    log = data.task_log(api, run.run_id, "load_e2e_skip")
    assert "partial load: 1 bad file(s) skipped" in log and "e2e_skip/bad.csv" in log
    # The good files' rows are in the table, none of the bad file's.
    good = sorted(row for name in ("good-1.csv", "good-2.csv") for row in _rows(SKIPPED[name]))
    with snowflake.cursor() as cur:
        assert cur.execute(f"SELECT id, word FROM {table} ORDER BY id").fetchall() == good
    ((source, file, first_error),) = data.failures_of_run(snowflake, config, run.run_id)
    assert (source, file.split("landing/")[-1]) == ("e2e_skip", "e2e_skip/bad.csv")
    assert '"four"' in first_error and first_error.endswith("(line 3)"), first_error
    # The report a `make run` prints names the file and its error.
    printed: list[str] = []
    report.print_result(snowflake, [run], settings.api_port, {}, echo=printed.append)
    text = "\n".join(printed)
    assert "== Not loaded" in text and "e2e_skip/bad.csv" in text and "(line 3)" in text

    data.put(s3, "landing/e2e_skip/bad.csv", _words(FIXED))
    run = data.run_raw(api)

    assert run.state == "success", run.tasks
    with snowflake.cursor() as cur:
        rows = cur.execute(f"SELECT id, word FROM {table} ORDER BY id").fetchall()
        loaded = cur.execute(
            f"SELECT file, rows_loaded FROM {config.audit_table} "
            "WHERE dag_run_id = %s AND source = 'e2e_skip' AND status = 'LOADED'",
            (run.run_id,),
        ).fetchall()
    assert rows == sorted(good + _rows(FIXED))
    # Exactly the skipped file loaded this time, nothing twice.
    assert [(f.split("landing/")[-1], n) for f, n in loaded] == [("e2e_skip/bad.csv", len(FIXED))]
    assert data.files_loaded_twice(snowflake, config) == []
