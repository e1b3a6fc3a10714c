"""A bad sources file on the running stack: both DAGs report an import error that names the file,
the source and the key; nothing loaded is touched; once fixed, the next run is exact."""

from __future__ import annotations

import pytest
import yaml

from bench.generated_sources import generated_config
from local.processes import wait_until
from local.stack import DAG_IDS, request_parses

from . import data

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("raw_layer_only")]

BAD_CONFIGS = [
    # (change to the sample config, what the error must say)
    (
        lambda c: c["sources"][1].update(table="weather; DROP TABLE raw.nycflights.flights"),
        ["source 'weather', key 'table'", "is not a plain identifier"],
    ),
    (
        lambda c: c["sources"][3]["columns"][1].update(name="name'--"),
        ["source 'airlines', key 'columns.1.name'", "is not a plain identifier"],
    ),
    (
        lambda c: c["sources"][4].update(fromat={"type": "parquet"}),
        ["source 'planes', key 'fromat'", "unknown key"],
    ),
]


def _import_errors(api) -> dict[str, str]:
    return {e["filename"].rsplit("/", 1)[-1]: e["stack_trace"] for e in api.import_errors()}


@pytest.mark.parametrize(("change", "expected"), BAD_CONFIGS)
def test_bad_config_is_reported_by_file_source_and_key_and_loses_nothing(
    stack, snowflake, s3, sources_file, change, expected
):
    _, api = stack
    good = sources_file.read_text()
    config = data.config_of(sources_file)
    before = data.raw_counts(snowflake, config)
    bad = yaml.safe_load(good)
    change(bad)
    sources_file.write_text(yaml.safe_dump(bad, sort_keys=False))
    # the parse the dag-processor makes of them within min_file_process_interval, asked for now
    request_parses(api, DAG_IDS)
    try:
        errors = wait_until(
            lambda: (e := _import_errors(api)) and len(e) == 2 and e,
            120,
            "import errors for both DAG files",
            interval=2,
        )
        assert set(errors) == {"snowflake_raw.py", "snowflake_analytics.py"}
        for trace in errors.values():
            assert str(sources_file) in trace
            for words in expected:
                assert words in trace, trace
        assert data.raw_counts(snowflake, config) == before
    finally:
        sources_file.write_text(good)
        request_parses(api, DAG_IDS)
    wait_until(lambda: not _import_errors(api), 120, "the import errors to clear", interval=2)

    run = data.run_raw(api)
    assert run.state == "success", run.tasks
    assert data.raw_counts(snowflake, config) == data.expected_raw_counts(s3, config)
    assert data.files_loaded_twice(snowflake, config) == []


def test_edits_of_the_sources_file_seconds_apart_each_take_effect(stack, sources_file):
    """Airflow stores a re-parsed DAG no sooner than 30 s after its last write by default, while
    the parse counts as done: the stack stores each change at once (min_serialized_dag_update_
    interval 0), so an edit made soon after another is what the next run runs."""
    _, api = stack
    before = set(api.task_ids("snowflake_raw"))
    # one source more, as generated sources are declared (bench.generated_sources)
    added = generated_config(len(data.config_of(sources_file).sources) + 1, sources_file)
    new_task = f"load_{added['sources'][-1]['name']}"
    with data.sources_changed(stack, sources_file, lambda config: config.update(added)):
        assert set(api.task_ids("snowflake_raw")) == before | {new_task}
    # sources_changed has put the file back and waited for its parse, seconds after the first
    assert set(api.task_ids("snowflake_raw")) == before
