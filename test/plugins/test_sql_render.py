"""The raw layer's SQL rendered from config."""

import re
from pathlib import Path

from snowflake_pipeline.audit import render_insert, rows_from_copy_result
from snowflake_pipeline.config import Compression, OnError, load_config
from snowflake_pipeline.load import file_named_in
from snowflake_pipeline.sql_render import (
    render_add_lineage,
    render_copy_into,
    render_create_table,
    render_file_format,
)

REPO = Path(__file__).parents[2]
CONFIG = load_config(REPO / "airflow" / "dags" / "config" / "sources.yml")
SOURCES = {s.name: s for s in CONFIG.sources}


def test_json_source_loads_into_one_variant_column():
    flights = SOURCES["flights"].model_copy(update={"lineage": False})
    assert render_create_table(CONFIG, flights) == (
        "CREATE TABLE IF NOT EXISTS raw.nycflights.flights (src VARIANT)"
    )
    assert render_copy_into(CONFIG, flights).splitlines() == [
        "COPY INTO raw.nycflights.flights",
        "FROM @raw.ops.landing/flights/",
        "FILE_FORMAT = (TYPE = JSON)",
        "ON_ERROR = ABORT_STATEMENT",
    ]


def test_csv_source_renders_its_options():
    copy = render_copy_into(CONFIG, SOURCES["weather"])
    assert (
        "FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '\"' "
        "NULL_IF = ('NA', ''))" in copy
    )
    create = render_create_table(CONFIG, SOURCES["weather"])
    assert create.startswith(
        "CREATE TABLE IF NOT EXISTS raw.nycflights.weather (origin VARCHAR NOT NULL, "
    )
    assert create.count(",") == len(SOURCES["weather"].columns) - 1
    required = [c.name for c in SOURCES["weather"].columns if c.required]
    assert create.count(" NOT NULL") == len(required) > 0


def test_csv_option_values_are_sql_literals_even_with_quotes():
    fmt = SOURCES["weather"].format.model_copy(update={"null_if": ("it's", "a\\b")})
    rendered = render_file_format(fmt)
    assert "NULL_IF = ('it\\'s', 'a\\\\b')" in rendered


def test_skip_file_sources_copy_with_on_error_skip_file():
    weather = SOURCES["weather"].model_copy(update={"on_error": OnError.skip_file})
    assert render_copy_into(CONFIG, weather).splitlines()[-1] == "ON_ERROR = SKIP_FILE"
    assert render_copy_into(CONFIG, SOURCES["weather"]).splitlines()[-1] == (
        "ON_ERROR = ABORT_STATEMENT"
    )


def test_a_skipped_files_audit_row_keeps_its_first_error_and_line():
    result = [
        {"file": "s3://b/a.csv", "status": "LOADED", "rows_parsed": 2, "rows_loaded": 2},
        {
            "FILE": "s3://b/b.csv",
            "STATUS": "LOAD_FAILED",
            "ROWS_PARSED": 0,
            "ROWS_LOADED": 0,
            "ERRORS_SEEN": 1,
            "FIRST_ERROR": "Numeric value 'five' is not recognized",
            "FIRST_ERROR_LINE": 3,
        },
    ]
    loaded, failed = rows_from_copy_result("run", "words", result)
    assert (loaded.status, loaded.first_error) == ("LOADED", None)
    assert (failed.file, failed.status, failed.errors_seen) == ("s3://b/b.csv", "LOAD_FAILED", 1)
    assert failed.first_error == "Numeric value 'five' is not recognized (line 3)"


def test_parquet_matches_columns_by_name():
    assert "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE" in render_copy_into(CONFIG, SOURCES["planes"])


def test_audit_insert_names_every_column_of_the_table_in_sql_in_order():
    ddl = (REPO / "sql" / "40_load_audit.sql").read_text()
    table_columns = re.findall(r"^ {4}(\w+) [A-Z]", ddl, re.MULTILINE)
    insert = render_insert("raw.ops.load_audit")
    columns = re.search(r"load_audit \(([^)]*)\) VALUES", insert).group(1).split(", ")
    assert columns == table_columns
    assert insert.count("%s") == len(table_columns) == 9


def test_zero_files_result_yields_no_audit_rows():
    result = [{"status": "Copy executed with 0 files processed."}]
    assert rows_from_copy_result("run", "flights", result) == []


def test_copy_result_rows_become_audit_rows():
    result = [
        {"FILE": "s3://b/landing/flights/a.json", "STATUS": "LOADED", "ROWS_PARSED": 3,
         "ROWS_LOADED": 3, "ERRORS_SEEN": 0, "FIRST_ERROR": None},
    ]  # fmt: skip
    (row,) = rows_from_copy_result("run-1", "flights", result)
    assert (row.dag_run_id, row.file, row.status, row.rows_loaded) == (
        "run-1", "s3://b/landing/flights/a.json", "LOADED", 3,
    )  # fmt: skip


def test_failed_file_is_found_in_snowflake_messages():
    snowflake = (
        "Error parsing JSON: incomplete object value\n"
        "  File 'flights/bad.json', line 3, character 7\n"
        "  Row 2 starts at line 2, column $1"
    )
    assert file_named_in(snowflake) == "flights/bad.json"
    assert file_named_in("Failure using stage area. Cause: [timed out]") is None


def test_landing_options_render_as_snowflake_options():
    flights = SOURCES["flights"].model_copy(
        update={
            "lineage": False,
            "format": SOURCES["flights"].format.model_copy(
                update={"strip_outer_array": True, "compression": Compression.gzip}
            ),
            "pattern": ".*part-[0-9]+[.]json",
        }
    )
    assert render_copy_into(CONFIG, flights).splitlines() == [
        "COPY INTO raw.nycflights.flights",
        "FROM @raw.ops.landing/flights/",
        "FILE_FORMAT = (TYPE = JSON COMPRESSION = GZIP STRIP_OUTER_ARRAY = TRUE)",
        "PATTERN = '.*part-[0-9]+[.]json'",
        "ON_ERROR = ABORT_STATEMENT",
    ]
    weather = SOURCES["weather"].format.model_copy(
        update={"date_format": "YYYY/MM/DD", "escape": "\\", "encoding": "ISO-8859-1"}
    )
    assert render_file_format(weather).endswith(
        "DATE_FORMAT = 'YYYY/MM/DD' ESCAPE = '\\\\' ENCODING = 'ISO-8859-1')"
    )


def test_lineage_is_a_copy_transformation_with_the_file_metadata():
    config = CONFIG.model_copy(
        update={"sources": tuple(s.model_copy(update={"lineage": True}) for s in CONFIG.sources)}
    )
    by_name = {s.name: s for s in config.sources}
    lineage = "METADATA$FILENAME, METADATA$FILE_ROW_NUMBER, METADATA$START_SCAN_TIME"
    names = "_file_name, _file_row_number, _loaded_at"
    flights = render_copy_into(config, by_name["flights"]).splitlines()
    assert flights[:2] == [
        f"COPY INTO raw.nycflights.flights (src, {names})",
        f"FROM (SELECT $1, {lineage} FROM @raw.ops.landing/flights/)",
    ]
    # airlines.csv: carrier, name (written out, not derived the way the renderer derives it)
    assert render_copy_into(config, by_name["airlines"]).splitlines()[:2] == [
        f"COPY INTO raw.nycflights.airlines (carrier, name, {names})",
        f"FROM (SELECT $1, $2, {lineage} FROM @raw.ops.landing/airlines/)",
    ]
    weather = by_name["weather"]
    planes = render_copy_into(config, by_name["planes"])
    assert "$1:tailnum::VARCHAR" in planes and "MATCH_BY_COLUMN_NAME" not in planes
    assert render_create_table(config, weather).endswith(
        "_file_name VARCHAR, _file_row_number NUMBER(38,0), _loaded_at TIMESTAMP_LTZ)"
    )
    assert render_add_lineage(config, weather) == [
        f"ALTER TABLE raw.nycflights.weather ADD COLUMN IF NOT EXISTS {column}"
        for column in (
            "_file_name VARCHAR",
            "_file_row_number NUMBER(38,0)",
            "_loaded_at TIMESTAMP_LTZ",
        )
    ]
    assert (
        render_add_lineage(CONFIG, SOURCES["weather"].model_copy(update={"lineage": False})) == []
    )
