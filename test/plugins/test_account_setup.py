"""The account setup applied by `make snowflake-setup` and `make run`."""

import re
import shutil
from pathlib import Path

import pytest
import yaml

from snowflake_pipeline.account_setup import (
    SetupError,
    fingerprint,
    render,
    statements,
    variables_from_env,
)
from snowflake_pipeline.config import DAGS_DIR, SOURCES_FILE_ENV, load_config

VARIABLES = {"stage_url": "s3://bucket/landing/", "storage_role_arn": "arn:aws:iam::1:role/r"}
LITERAL = re.compile(r"'[^']*'")
QUALIFIED = re.compile(r"\b[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)+\b")
DATABASE = re.compile(r"\bDATABASE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][\w$]*)", re.IGNORECASE)


@pytest.fixture
def dags(tmp_path, monkeypatch) -> Path:
    """A copy of the DAGs' config that a test may change (and that the setup reads)."""
    monkeypatch.delenv(SOURCES_FILE_ENV, raising=False)
    shutil.copytree(DAGS_DIR / "config", tmp_path / "config")
    return tmp_path


def _edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _declared(dags_dir: Path) -> dict[str, str]:
    """The config's names, read from its files here rather than by the code under test."""
    sources = yaml.safe_load((dags_dir / "config" / "sources.yml").read_text())
    analytics = yaml.safe_load((dags_dir / "config" / "analytics.yml").read_text())
    return {
        "stage": sources["stage"],
        "audit_table": sources["audit_table"],
        "raw_schema": sources["raw_schema"],
        "analytics_schema": analytics["analytics_schema"],
    }


def _schemas(declared: dict[str, str]) -> set[str]:
    return {
        declared["stage"].rsplit(".", 1)[0],
        declared["audit_table"].rsplit(".", 1)[0],
        declared["raw_schema"],
        declared["analytics_schema"],
    }


def _named(rendered: list[str]) -> tuple[set[str], set[str]]:
    """(schemas, databases) the statements name, string literals aside."""
    schemas, databases = set(), set()
    for statement in rendered:
        code = LITERAL.sub("''", statement)
        for name in QUALIFIED.findall(code):
            parts = name.split(".")
            schemas.add(".".join(parts[:2]))
            databases.add(parts[0])
        databases.update(DATABASE.findall(code))
    return schemas, databases


def _render(dags_dir: Path) -> list[str]:
    config = load_config(dags_dir / "config" / "sources.yml")
    return [s for _, s in statements(VARIABLES, config=config, dags_dir=dags_dir)]


def _targets(rendered: list[str], pattern: str) -> set[str]:
    return {m.group(1) for s in rendered if (m := re.fullmatch(pattern, " ".join(s.split())))}


def _assert_setup_names_exactly(rendered: list[str], declared: dict[str, str]) -> None:
    schemas = _schemas(declared)
    databases = {schema.split(".")[0] for schema in schemas}
    assert _named(rendered) == (schemas, databases)
    assert _targets(rendered, r"CREATE SCHEMA IF NOT EXISTS (\S+)") == schemas
    assert _targets(rendered, r"CREATE DATABASE IF NOT EXISTS (\S+)") == databases
    etl_schema_grant = (
        r"GRANT USAGE(?:, CREATE TABLE)?(?:, CREATE VIEW)? ON SCHEMA (\S+) TO ROLE etl"
    )
    assert _targets(rendered, etl_schema_grant) == schemas
    assert _targets(rendered, r"GRANT USAGE ON DATABASE (\S+) TO ROLE etl") == databases
    analytics = declared["analytics_schema"]
    assert _targets(rendered, r"GRANT .* SCHEMA (\S+) TO ROLE reporting") == {analytics}
    assert _targets(rendered, r"GRANT USAGE ON DATABASE (\S+) TO ROLE reporting") == {
        analytics.split(".")[0]
    }
    assert _targets(rendered, r"CREATE STAGE IF NOT EXISTS (\S+) .*") == {declared["stage"]}
    assert _targets(rendered, r"CREATE TABLE IF NOT EXISTS (\S+) \(.*") == {declared["audit_table"]}
    assert len(rendered) == len(set(rendered)), "a statement is rendered twice"


def test_every_statement_is_rendered_and_idempotent():
    rendered = list(statements(VARIABLES))
    assert rendered, "sql/ has no statements"
    for origin, statement in rendered:
        assert "{{" not in statement, origin
        first = statement.split()[0].upper()
        if first == "CREATE":
            assert "IF NOT EXISTS" in statement.upper(), (origin, statement)
        else:
            assert first == "GRANT", (origin, statement)
    stage = next(s for _, s in rendered if s.startswith("CREATE STAGE"))
    assert "URL = 's3://bucket/landing/'" in stage


def test_the_sample_config_names_every_schema_database_stage_and_audit_table():
    _assert_setup_names_exactly(_render(DAGS_DIR), _declared(DAGS_DIR))


def test_another_config_moves_every_schema_and_grant_with_it(dags):
    before = _declared(dags)
    _edit_yaml(
        dags / "config" / "sources.yml",
        lambda c: c.update(
            stage="landing_db.files.landing",  # stage and audit table in different schemas
            raw_schema="lake.flights",
            audit_table="lake.audit.load_audit",
        ),
    )
    _edit_yaml(dags / "config" / "analytics.yml", lambda c: c.update(analytics_schema="bi.marts"))
    rendered = _render(dags)

    _assert_setup_names_exactly(rendered, _declared(dags))
    schemas, databases = _named(rendered)
    old_schemas = _schemas(before)
    assert not schemas & old_schemas, schemas & old_schemas
    assert not databases & {schema.split(".")[0] for schema in old_schemas}, databases


def test_the_stage_and_audit_table_sharing_a_schema_create_and_grant_it_once(dags):
    rendered = _render(dags)
    ops = _declared(dags)["stage"].rsplit(".", 1)[0]
    assert rendered.count(f"CREATE SCHEMA IF NOT EXISTS {ops}") == 1
    assert sum(" ".join(s.split()).endswith(f"SCHEMA {ops} TO ROLE etl") for s in rendered) == 1


def test_a_missing_variable_names_the_file_and_the_environment_variable():
    with pytest.raises(
        SetupError,
        match=r"sql/20_stage.sql: \{\{ stage_url \}\} is not set; export SNOWFLAKE_STAGE_URL",
    ):
        render("URL = '{{ stage_url }}'", {}, "sql/20_stage.sql")


def test_an_unknown_placeholder_names_the_file_the_variable_and_the_known_ones(tmp_path):
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "10_x.sql").write_text("CREATE SCHEMA IF NOT EXISTS {{ raw_shema }};\n")
    with pytest.raises(SetupError) as error:
        list(statements(VARIABLES, sql))
    message = str(error.value)
    assert message.startswith("sql/10_x.sql: {{ raw_shema }} is not a variable; use one of:")
    assert "raw_schema" in message and "stage_url" in message


def test_variables_come_from_their_environment_variables():
    env = {"SNOWFLAKE_STAGE_URL": "s3://b/", "UNRELATED": "x"}
    assert variables_from_env(env) == {"stage_url": "s3://b/"}


@pytest.mark.parametrize(
    ("file", "change"),
    [
        ("sources.yml", lambda c: c.update(raw_schema="lake.flights")),
        ("analytics.yml", lambda c: c.update(analytics_schema="bi.marts")),
    ],
)
def test_the_fingerprint_changes_with_the_config(dags, file, change):
    before = fingerprint("target", dags)
    assert fingerprint("target", dags) == before
    _edit_yaml(dags / "config" / file, change)
    assert fingerprint("target", dags) != before


def test_connect_uses_the_configs_connection(monkeypatch):
    from airflow.providers.snowflake.hooks import snowflake as hooks

    from snowflake_pipeline import account_setup

    used = []

    class Hook:
        def __init__(self, snowflake_conn_id):
            used.append(snowflake_conn_id)

        def get_conn(self):
            return "connection"

    monkeypatch.setattr(hooks, "SnowflakeHook", Hook)
    config = load_config().model_copy(update={"connection_id": "snowflake_prod"})
    assert account_setup.connect(config) == "connection"
    assert used == ["snowflake_prod"]
