"""How a failed COPY is classed, on the local emulator (fakesnow with local/emulator's patches):
a statement Snowflake refuses fails the load at once; a stage that cannot be used is retried;
`on_error: skip_file` keeps the good files and fails naming the bad ones."""

import pytest
from fakesnow.instance import FakeSnow

from local.emulator.noops import EMULATOR_NOOPS
from local.emulator.server import install_patches
from snowflake_pipeline.account_setup import apply
from snowflake_pipeline.config import Compression, Source, load_config
from snowflake_pipeline.load import (
    PartialLoadError,
    SourceLoadError,
    StageUnavailableError,
    load_source,
)


@pytest.fixture(scope="module")
def stage_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("stage")


@pytest.fixture(scope="module")
def account(tmp_path_factory, stage_dir):
    install_patches()
    snow = FakeSnow(db_path=str(tmp_path_factory.mktemp("db")), nop_regexes=EMULATOR_NOOPS)
    config = load_config()
    variables = {"stage_url": f"file://{stage_dir}/", "storage_role_arn": "arn:aws:iam::1:role/r"}
    apply(snow.connect(), variables, config, echo=lambda _line: None)
    return snow, config


def test_an_option_snowflake_refuses_fails_at_once_naming_it(account):
    snow, config = account
    weather = next(s for s in config.sources if s.name == "weather")
    bz2 = weather.model_copy(
        update={"format": weather.format.model_copy(update={"compression": Compression.bz2})}
    )
    refused = r"(?s)refused COPY INTO .*weather itself.*COMPRESSION = BZ2"
    with pytest.raises(SourceLoadError, match=refused):
        load_source(snow.connect(), config, bz2, "run-1")


def test_a_stage_that_does_not_exist_is_retried_as_unavailable(account):
    snow, config = account
    planes = next(s for s in config.sources if s.name == "planes")
    elsewhere = config.model_copy(update={"stage": "raw.ops.no_such_stage"})
    with pytest.raises(StageUnavailableError, match=r"002003"):
        load_source(snow.connect(), elsewhere, planes, "run-2")


WORDS = Source.model_validate(
    {
        "name": "words",
        "prefix": "words/",
        "format": {"type": "csv", "skip_header": 1},
        "table": "words",
        "on_error": "skip_file",
        "columns": [{"name": "n", "type": "NUMBER(38,0)"}, {"name": "word", "type": "VARCHAR"}],
    }
)


def test_skip_file_keeps_the_good_files_fails_naming_the_bad_and_the_fix_loads_once(
    account, stage_dir
):
    snow, config = account
    folder = stage_dir / "words"
    folder.mkdir()
    good = {"a.csv": [(1, "one"), (2, "two")], "c.csv": [(3, "three")]}
    for name, rows in good.items():
        (folder / name).write_text("n,word\n" + "".join(f"{n},{w}\n" for n, w in rows))
    (folder / "b.csv").write_text("n,word\n4,four\nfive,5\n")  # line 3: not a number

    with pytest.raises(PartialLoadError) as partial:
        load_source(snow.connect("raw"), config, WORDS, "run-skip-1")
    message = str(partial.value)
    assert "partial load: 1 bad file(s) skipped" in message
    assert "2 good file(s) with 3 row(s) loaded" in message
    assert f"File '{folder}/b.csv'" in message and "(line 3)" in message
    assert isinstance(partial.value, SourceLoadError)  # the raw task fails it without retry

    cur = snow.connect().cursor()
    table = config.table_of(WORDS)
    kept = sorted(row for rows in good.values() for row in rows)
    assert cur.execute(f"SELECT n, word FROM {table} ORDER BY n").fetchall() == kept
    audit = cur.execute(
        f"SELECT file, status, rows_loaded, first_error FROM {config.audit_table} "
        "WHERE dag_run_id = 'run-skip-1' ORDER BY file"
    ).fetchall()
    assert [(f.rsplit("/", 1)[-1], s, n) for f, s, n, _ in audit] == [
        ("a.csv", "LOADED", 2),
        ("b.csv", "LOAD_FAILED", 0),
        ("c.csv", "LOADED", 1),
    ]
    assert "five" in audit[1][3] and audit[1][3].endswith("(line 3)")

    (folder / "b.csv").write_text("n,word\n4,four\n5,five\n")
    summary = load_source(snow.connect("raw"), config, WORDS, "run-skip-2")
    assert (summary.files_loaded, summary.rows_loaded, summary.files_failed) == (1, 2, 0)
    every = sorted([*kept, (4, "four"), (5, "five")])
    assert cur.execute(f"SELECT n, word FROM {table} ORDER BY n").fetchall() == every
