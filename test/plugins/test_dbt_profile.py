"""The dbt profile follows how snowflake_default signs in, decided when a task renders it: the
key pair `make deploy` writes (passphrase or none) or compose's password connection. Secrets
reach dbt only as environment variables, never in the profile file."""

import json

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from snowflake_pipeline.config import load_config
from snowflake_pipeline.dbt_project import analytics_target, profile_mapping, profile_name

EXTRA = {"account": "myorg-acct", "database": "raw", "warehouse": "etl_wh", "role": "etl"}


def _pem(passphrase: str | None) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def _rendered(monkeypatch, connection: dict) -> tuple[dict, dict, str]:
    monkeypatch.setenv("AIRFLOW_CONN_SNOWFLAKE_DEFAULT", json.dumps(connection))
    mapping = profile_mapping(load_config())
    text = mapping.get_profile_file_contents(profile_name(), "airflow")
    return yaml.safe_load(text)[profile_name()]["outputs"]["airflow"], mapping.env_vars, text


@pytest.mark.parametrize("passphrase", ["s3cret-phrase", None])
def test_a_key_pair_connection_gives_dbt_the_key_and_its_passphrase_if_any(monkeypatch, passphrase):
    pem = _pem(passphrase)
    connection = {
        "conn_type": "snowflake",
        "login": "AIRFLOW",
        "extra": {**EXTRA, "private_key_content": pem},
    }
    if passphrase:
        connection["password"] = passphrase
    output, secrets, text = _rendered(monkeypatch, connection)

    assert output["type"] == "snowflake" and output["user"] == "AIRFLOW"
    assert output["account"] == "myorg-acct" and output["role"] == "etl"
    assert {k: output[k] for k in ("database", "schema")} == analytics_target()
    assert "password" not in output
    assert secrets["COSMOS_CONN_SNOWFLAKE_PRIVATE_KEY"] == pem
    assert secrets.get("COSMOS_CONN_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE") == passphrase
    assert ("private_key_passphrase" in output) == bool(passphrase)
    assert pem.splitlines()[1] not in text
    assert passphrase is None or passphrase not in text


def test_a_password_connection_gives_dbt_the_password(monkeypatch):
    connection = {"conn_type": "snowflake", "login": "fake", "password": "snow-pw", "extra": EXTRA}
    output, secrets, text = _rendered(monkeypatch, connection)

    assert output["user"] == "fake" and "private_key" not in output
    assert secrets["COSMOS_CONN_SNOWFLAKE_PASSWORD"] == "snow-pw"
    assert "snow-pw" not in text
