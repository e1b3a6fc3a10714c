"""The account setup applied by `make snowflake-setup` and `make run`."""

import pytest

from snowflake_pipeline.account_setup import SetupError, render, statements, variables_from_env

VARIABLES = {"stage_url": "s3://bucket/landing/", "storage_role_arn": "arn:aws:iam::1:role/r"}


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


def test_a_missing_variable_names_the_file_and_the_environment_variable():
    with pytest.raises(
        SetupError,
        match=r"sql/20_stage.sql: \{\{ stage_url \}\} is not set; export SNOWFLAKE_STAGE_URL",
    ):
        render("URL = '{{ stage_url }}'", {}, "sql/20_stage.sql")


def test_variables_come_from_their_environment_variables():
    env = {"SNOWFLAKE_STAGE_URL": "s3://b/", "UNRELATED": "x"}
    assert variables_from_env(env) == {"stage_url": "s3://b/"}


def test_connect_uses_the_configs_connection(monkeypatch):
    from airflow.providers.snowflake.hooks import snowflake as hooks

    from snowflake_pipeline import account_setup
    from snowflake_pipeline.config import load_config

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
