"""The dbt project's sources follow the pipeline's sources file; its profile is the Airflow
connection's, through Cosmos's profile mapping."""

import json

import pytest
import yaml

from snowflake_pipeline.config import ConfigError, load_config
from snowflake_pipeline.dbt_project import (
    PROJECT_DIR,
    RAW_SOURCE,
    SOURCES_FILE,
    analytics_schema,
    analytics_target,
    model_tables,
    profile_mapping,
    raw_inputs,
    read_manifest,
    render_sources,
)


def test_the_committed_dbt_sources_are_the_ones_the_sources_file_gives():
    committed = (PROJECT_DIR / SOURCES_FILE).read_text()
    assert committed == render_sources(load_config()), (
        f"{SOURCES_FILE} differs from airflow/dags/config/sources.yml: regenerate it with "
        "`python -m local dbt-sources` and commit it"
    )


def test_every_raw_table_is_a_dbt_source_with_its_columns():
    config = load_config()
    (raw,) = yaml.safe_load(render_sources(config))["sources"]
    assert raw["name"] == RAW_SOURCE
    assert f"{raw['database']}.{raw['schema']}" == config.raw_schema
    tables = {t["name"]: t for t in raw["tables"]}
    assert {name: t["identifier"] for name, t in tables.items()} == {
        s.name: s.table for s in config.sources
    }
    weather = next(s for s in config.sources if s.name == "weather")
    assert [c["name"] for c in tables["weather"]["columns"]] == [c.name for c in weather.columns]
    # json sources are one VARIANT column; lineage adds COPY's metadata columns
    flights = [(c["name"], c["data_type"]) for c in tables["flights"]["columns"]]
    assert flights[0] == ("src", "VARIANT") and ("_loaded_at", "TIMESTAMP_LTZ") in flights


def test_a_new_source_in_the_sources_file_is_a_new_dbt_source(tmp_path):
    config = load_config()
    routes = config.sources[1].model_copy(update={"name": "routes", "table": "routes"})
    more = config.model_copy(update={"sources": (*config.sources, routes)})
    (raw,) = yaml.safe_load(render_sources(more))["sources"]
    assert raw["tables"][-1]["name"] == "routes"


@pytest.fixture
def connection(monkeypatch):
    """Set AIRFLOW_CONN_SNOWFLAKE_DEFAULT to `conn` (a dict), as Airflow reads it."""

    def set_to(conn: dict) -> None:
        monkeypatch.setenv("AIRFLOW_CONN_SNOWFLAKE_DEFAULT", json.dumps(conn))

    return set_to


def test_a_real_accounts_connection_as_make_deploy_writes_it_maps_too(connection):
    connection(
        {
            "conn_type": "snowflake",
            "login": "AIRFLOW",
            "password": "the-key-s3cret",
            "extra": {
                "account": "myorg-myaccount",
                "database": "raw",
                "warehouse": "etl_wh",
                "role": "etl",
                "private_key_content": "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n",
            },
        }
    )
    mapping = profile_mapping(load_config())
    profile = mapping.profile
    assert (profile["account"], profile["user"], profile["role"]) == (
        "myorg-myaccount",
        "AIRFLOW",
        "etl",
    )
    assert {k: profile[k] for k in ("database", "schema")} == analytics_target()
    # secrets reach dbt as environment variables, never in the profile
    assert "the-key-s3cret" not in str(profile) and "AAAA" not in str(profile)


def test_the_mapping_reads_no_connection_until_a_task_renders_its_profile(monkeypatch):
    # a DAG parse builds it: no secrets backend call, no connection needed then
    monkeypatch.delenv("AIRFLOW_CONN_SNOWFLAKE_DEFAULT", raising=False)
    mapping = profile_mapping(load_config())
    assert mapping.conn_id == "snowflake_default"


def test_the_analytics_schema_is_declared_once_and_validated(tmp_path):
    assert analytics_target() == {"database": "analytics", "schema": "nycflights"}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "analytics.yml").write_text("analytics_schema: analytics\ntables: {}\n")
    with pytest.raises(ConfigError) as error:
        analytics_schema(tmp_path)
    message = str(error.value)
    assert "analytics.yml" in message and "tables" in message and "analytics_schema" in message


def test_the_manifest_gives_the_raw_inputs_and_the_model_tables():
    manifest = read_manifest()
    config = load_config()
    assert raw_inputs(config, manifest) == tuple(config.table_of(s) for s in config.sources)
    tables = model_tables(manifest)
    assert set(tables) == {p.stem for p in (PROJECT_DIR / "models").rglob("*.sql")}
    order = list(tables)
    assert order.index("stg_flights") < order.index("flights") < order.index("flights_enriched")
    assert tables["flights"] == "analytics.nycflights.flights"
