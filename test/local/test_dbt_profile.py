"""The dbt profile Cosmos maps from the local stack's own snowflake_default (key pair over TLS):
its target is the analytics schema, its secrets only in the environment dbt gets. (Here, not in
test/plugins: it needs local/, which the image's test stage has not.)"""

import yaml

from snowflake_pipeline.config import load_config
from snowflake_pipeline.dbt_project import analytics_target, profile_mapping, profile_name


def test_the_profile_is_the_local_key_pair_connection_without_its_secrets(monkeypatch, tmp_path):
    from local.airflow_env import snowflake_connection
    from local.settings import Settings

    settings = Settings.on_free_ports(tmp_path)
    monkeypatch.setenv("AIRFLOW_CONN_SNOWFLAKE_DEFAULT", snowflake_connection(settings))
    mapping = profile_mapping(load_config())
    assert type(mapping).__name__ == "SnowflakeConnectionProfileMapping"

    text = mapping.get_profile_file_contents(profile_name(), "local")
    output = yaml.safe_load(text)[profile_name()]["outputs"]["local"]
    assert {k: output[k] for k in ("database", "schema")} == analytics_target()
    assert (output["host"], output["port"]) == ("127.0.0.1", settings.snowflake_port)
    secrets = mapping.env_vars
    key = (settings.state_dir / "snowflake_key.p8").read_text()
    passphrase = (settings.state_dir / "snowflake_key.passphrase").read_text()
    assert secrets["COSMOS_CONN_SNOWFLAKE_PRIVATE_KEY"] == key
    assert secrets["COSMOS_CONN_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"] == passphrase
    assert passphrase not in text and key.splitlines()[1] not in text
