"""The analytics layer rendered from analytics.yml, its SQL and the raw config."""

import shutil
from pathlib import Path

import pytest
import yaml

from snowflake_pipeline.analytics import load_analytics
from snowflake_pipeline.config import DAGS_DIR, ConfigError, load_config


@pytest.fixture
def dags(tmp_path) -> Path:
    """A copy of the DAGs' config and SQL that a test may change."""
    for folder in ("config", "sql"):
        shutil.copytree(DAGS_DIR / folder, tmp_path / folder)
    return tmp_path


def _edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_schemas_of_the_config_reach_every_statement_and_check(dags):
    _edit_yaml(dags / "config" / "sources.yml", lambda c: c.update(raw_schema="lake.landed"))
    _edit_yaml(dags / "config" / "analytics.yml", lambda c: c.update(analytics_schema="bi.core"))
    config = load_config(dags / "config" / "sources.yml")
    layer = load_analytics(config, dags)

    statements = [t.build_sql for t in layer.tables.values()]
    statements += [sql for t in layer.tables.values() for sql in t.table_checks.values()]
    text = "\n".join(statements)
    assert "nycflights" not in text and "{{" not in text
    assert "FROM lake.landed.flights" in layer.tables["flights"].build_sql
    assert (
        "CREATE OR REPLACE TRANSIENT TABLE bi.core.flights AS" in layer.tables["flights"].build_sql
    )
    assert "FROM bi.core.flights AS f" in layer.tables["flights_enriched"].build_sql
    assert layer.tables["flights_enriched"].table_checks == {
        "row_count_equals_flights": "COUNT(*) = (SELECT COUNT(*) FROM bi.core.flights)"
    }
    assert set(layer.raw_inputs) == {
        f"lake.landed.{n}" for n in ("flights", "weather", "airports", "airlines", "planes")
    }


def test_build_order_puts_every_table_after_what_it_reads():
    layer = load_analytics(load_config())
    order = list(layer.tables)
    assert order.index("flights") < order.index("flights_enriched")
    assert order.index("flights") < order.index("delays_by_origin_quarter")
    assert order.index("dim_date") < order.index("delays_by_origin_quarter")
    assert layer.tables["delays_by_origin_quarter"].refs == ("flights", "dim_date")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM {{ source('routes') }}", "source('routes') is not a source of sources.yml"),
        ("SELECT * FROM {{ ref('nope') }}", "ref('nope') is not a table of analytics.yml"),
        ("SELECT {{ var('x') }}", "{{ var('x') }} is not a reference"),
    ],
)
def test_an_unknown_reference_names_the_sql_file(dags, sql, message):
    (dags / "sql" / "dim_date.sql").write_text(sql)
    with pytest.raises(ConfigError, match="dim_date.sql") as error:
        load_analytics(load_config(), dags)
    assert message in str(error.value)


def test_a_sql_file_without_its_declaration_is_refused(dags):
    (dags / "sql" / "extra.sql").write_text("CREATE OR REPLACE TABLE {{ this }} AS SELECT 1")
    with pytest.raises(ConfigError, match="sql/extra.sql is not a table of this file"):
        load_analytics(load_config(), dags)


def test_a_cycle_is_refused(dags):
    (dags / "sql" / "flights.sql").write_text("SELECT * FROM {{ ref('flights_enriched') }}")
    with pytest.raises(ConfigError, match="cycle"):
        load_analytics(load_config(), dags)
