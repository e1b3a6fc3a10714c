"""Scale: 100 configured sources, one of them with 1,000 files in its prefix.

Loads use the source's prefix, not a FILES list, so Snowflake's limit of 1,000 names per FILES
list never applies; the load metadata still skips files already loaded.
"""

from __future__ import annotations

import pytest
import yaml

from bench.generated_sources import generated_config
from snowflake_pipeline.config import DAGS_DIR
from snowflake_pipeline.parse_probe import parse_dag_file

from . import data

pytestmark = pytest.mark.e2e
SOURCES = 100
EVENT_FILES = 1000


def _csv(first_id: int, rows: int) -> str:
    lines = ["id,kind,amount"]
    lines += [f"{first_id + i},kind-{i % 3},{(first_id + i) * 1.25:.2f}" for i in range(rows)]
    return "\n".join(lines) + "\n"


def test_a_100_source_config_parses_to_one_load_task_per_source(tmp_path):
    """A cold parse in a new process, as the dag-processor parses it.

    Only snowflake_raw grows with the sources. How fast it parses is `make bench`'s figure (its
    `parse` part), not an assertion here: a 1 s limit on a shared 2-core machine failed under
    load (make test, 2026-12-05) while the parse itself was sound.
    """
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(generated_config(SOURCES)))
    parsed = parse_dag_file(DAGS_DIR / "snowflake_raw.py", tmp_path, path)
    # One load per source and the task that publishes the loaded tables.
    assert (parsed.errors, parsed.tasks) == ({}, {"snowflake_raw": SOURCES + 1})


@pytest.mark.usefixtures("raw_layer_only")
def test_100_sources_and_a_1000_file_prefix_load_exactly(stack, snowflake, s3, sources_file):
    _, api = stack
    config_data = generated_config(SOURCES, sources_file)
    *generated, events = config_data["sources"][len(data.config_of(sources_file).sources) :]
    next_id = 1
    for number, source in enumerate(generated):
        rows = number % 5 + 1
        data.put(s3, f"landing/{source['prefix']}part-0.csv", _csv(next_id, rows))
        next_id += rows
    for i in range(EVENT_FILES):
        data.put(s3, f"landing/{events['prefix']}{i:04d}.csv", _csv(next_id, 3))
        next_id += 3

    with data.sources_changed(stack, sources_file, lambda config: config.update(config_data)):
        assert len(api.task_ids("snowflake_raw")) == SOURCES + 1
        config = data.config_of(sources_file)
        run = data.run_raw(api, timeout=1800)

    assert run.state == "success", run.failed_tasks
    assert len(run.tasks) == SOURCES + 1
    counts = data.raw_counts(snowflake, config)
    assert counts == data.expected_raw_counts(s3, config)
    assert counts[f"raw.nycflights.{events['table']}"] == EVENT_FILES * 3
    assert data.files_loaded_twice(snowflake, config) == []
    with snowflake.cursor() as cur:
        (loaded,) = cur.execute(
            f"SELECT COUNT(*) FROM {config.audit_table} "
            "WHERE source = %s AND status = 'LOADED' AND dag_run_id = %s",
            (events["name"], run.run_id),
        ).fetchone()
    assert loaded == EVENT_FILES
