"""Config validation: each bad config names the file, the source, the key and what is allowed."""

from pathlib import Path

import pytest
import yaml

from snowflake_pipeline.config import ConfigError, load_config

SAMPLE = Path(__file__).parents[2] / "airflow" / "dags" / "config" / "sources.yml"


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def sample() -> dict:
    return yaml.safe_load(SAMPLE.read_text())


def _error(tmp_path, data) -> str:
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_sample_config_is_valid():
    config = load_config(SAMPLE)
    names = [s.name for s in config.sources]
    assert names == ["flights", "weather", "airports", "airlines", "planes"]
    assert config.table_of(config.sources[0]) == "raw.nycflights.flights"


def test_unknown_key_names_source_and_key(tmp_path, sample):
    sample["sources"][1]["prefx"] = "weather/"
    message = _error(tmp_path, sample)
    assert "source 'weather'" in message
    assert "'prefx'" in message
    assert "unknown key" in message


def test_missing_field_names_source_and_key(tmp_path, sample):
    del sample["sources"][2]["table"]
    message = _error(tmp_path, sample)
    assert "source 'airports', key 'table': missing required key" in message


def test_duplicate_target_table(tmp_path, sample):
    sample["sources"][3]["table"] = "weather"
    message = _error(tmp_path, sample)
    assert "duplicate table 'weather'" in message
    assert "'weather' and 'airlines'" in message


def test_unsupported_format_lists_allowed(tmp_path, sample):
    sample["sources"][0]["format"]["type"] = "xml"
    message = _error(tmp_path, sample)
    assert "source 'flights', key 'format.type'" in message
    assert "'xml'" in message
    assert "'csv', 'json' or 'parquet'" in message


def test_json_source_with_columns_is_refused(tmp_path, sample):
    sample["sources"][0]["columns"] = [{"name": "a", "type": "VARCHAR"}]
    message = _error(tmp_path, sample)
    assert "source 'flights'" in message
    assert "one VARIANT column" in message


def test_csv_source_without_columns_is_refused(tmp_path, sample):
    del sample["sources"][1]["columns"]
    assert "csv sources need 'columns'" in _error(tmp_path, sample)


@pytest.mark.parametrize("bad", ["flights; DROP TABLE x", "fl'ights", "a b", "raw.flights"])
def test_table_names_must_be_plain_identifiers(tmp_path, sample, bad):
    sample["sources"][0]["table"] = bad
    message = _error(tmp_path, sample)
    assert "key 'table'" in message
    assert "is not a plain identifier" in message


def test_column_type_must_be_known(tmp_path, sample):
    sample["sources"][1]["columns"][0]["type"] = "VARCHAR); DROP TABLE x; --"
    message = _error(tmp_path, sample)
    assert "source 'weather', key 'columns.0.type'" in message
    assert "not an allowed column type" in message


def test_stage_must_be_fully_qualified(tmp_path, sample):
    sample["stage"] = "landing"
    assert "key 'stage': 'landing' must have 3 dot-separated parts" in _error(tmp_path, sample)


def test_not_yaml(tmp_path):
    path = tmp_path / "sources.yml"
    path.write_text("sources: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


# Every config value that reaches SQL, with a value that would inject SQL through it, and why the
# value is refused.
NOT_IDENTIFIER = "is not a plain identifier"
INJECTIONS = [
    (("stage",), "raw.ops.landing'; DROP TABLE x; --", "key 'stage'", NOT_IDENTIFIER),
    (("raw_schema",), 'raw."nycflights"', "key 'raw_schema'", NOT_IDENTIFIER),
    (("audit_table",), "raw.ops.load_audit;DELETE", "key 'audit_table'", NOT_IDENTIFIER),
    (("sources", 1, "name"), "weather;", "source 'weather;', key 'name'", NOT_IDENTIFIER),
    (("sources", 1, "table"), 'weather"', "source 'weather', key 'table'", NOT_IDENTIFIER),
    (
        ("sources", 1, "columns", 0, "name"),
        "origin'",
        "source 'weather', key 'columns.0.name'",
        NOT_IDENTIFIER,
    ),
    (("sources", 1, "prefix"), "weather'/", "source 'weather', key 'prefix'", "should match"),
    (("sources", 1, "prefix"), "../secrets/", "source 'weather', key 'prefix'", "no .."),
    (
        ("sources", 1, "empty_files"),
        "ignore",
        "source 'weather', key 'empty_files'",
        "unsupported value 'ignore'; allowed: 'fail' or 'load'",
    ),
    (("sources", 1, "columns", 0, "required"), "sometimes", "key 'columns.0.required'", "boolean"),
]


@pytest.mark.parametrize(("path", "bad", "where", "why"), INJECTIONS)
def test_values_reaching_sql_are_refused_at_parse_time(tmp_path, sample, path, bad, where, why):
    target = sample
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = bad
    message = _error(tmp_path, sample)
    # The problem line names where the value is and why it is refused.
    (line,) = [line for line in message.splitlines() if where in line]
    assert why in line, message


def test_required_columns_and_empty_files_are_read(tmp_path, sample):
    sample["sources"][1]["empty_files"] = "load"
    config = load_config(_write(tmp_path, sample))
    weather = config.sources[1]
    assert weather.empty_files == "load"
    assert [c.name for c in weather.columns if c.required] == [
        "origin",
        "year",
        "month",
        "day",
        "hour",
        "time_hour",
    ]


# Landing-data options: (source index, format or source key, value, where, why).
REFUSED_OPTIONS = [
    (0, ("format", "compression"), "lzma", "key 'format.compression'", "'gzip', 'bz2'"),
    (1, ("format", "strip_outer_array"), True, "key 'format'", "only apply to type json"),
    (0, ("format", "date_format"), "YYYY", "key 'format'", "only apply to type csv"),
    (4, ("format", "compression"), "gzip", "key 'format'", "carry their compression inside"),
    (1, ("format", "date_format"), "YYYY'MM", "key 'format.date_format'", "without quotes"),
    (1, ("format", "escape"), "ab", "key 'format.escape'", "at most 1 character"),
    (1, ("format", "encoding"), "UTF8; DROP", "key 'format.encoding'", "should match"),
    (1, ("pattern",), "([a-z]", "key 'pattern'", "is not a regular expression"),
    (1, ("pattern",), ".*'; DROP", "key 'pattern'", "without quotes"),
    (1, ("on_error",), "continue", "key 'on_error'", "'abort' or 'skip_file'"),
]


@pytest.mark.parametrize(("index", "path", "bad", "where", "why"), REFUSED_OPTIONS)
def test_landing_options_are_checked_at_parse_time(tmp_path, sample, index, path, bad, where, why):
    target = sample["sources"][index]
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = bad
    name = sample["sources"][index]["name"]
    message = _error(tmp_path, sample)
    (line,) = [line for line in message.splitlines() if f"source '{name}', {where}" in line]
    assert why in line, message


def test_landing_options_are_read(tmp_path, sample):
    flights, weather = sample["sources"][0], sample["sources"][1]
    flights["format"] |= {"strip_outer_array": True, "compression": "zstd"}
    weather["format"] |= {"date_format": "YYYY/MM/DD", "escape": "\\", "encoding": "ISO-8859-1"}
    weather["pattern"] = ".*[.]csv"
    weather["on_error"] = "skip_file"
    config = load_config(_write(tmp_path, sample))
    assert (config.sources[0].on_error, config.sources[1].on_error) == ("abort", "skip_file")
    assert (config.sources[0].format.strip_outer_array, config.sources[0].format.compression) == (
        True,
        "zstd",
    )
    fmt = config.sources[1].format
    assert (fmt.date_format, fmt.escape, fmt.encoding, fmt.compression) == (
        "YYYY/MM/DD",
        "\\",
        "ISO-8859-1",
        "auto",
    )
    assert config.sources[1].pattern == ".*[.]csv"


def test_lineage_columns_may_not_clash_with_the_sources_columns(tmp_path, sample):
    sample["sources"][1]["lineage"] = True
    sample["sources"][1]["columns"][5]["name"] = "_loaded_at"
    message = _error(tmp_path, sample)
    (line,) = [line for line in message.splitlines() if "source 'weather'" in line]
    assert "_loaded_at clash with the lineage columns" in line, message
