"""The dbt profile of the pipeline's Snowflake connection, however that connection signs in.

Cosmos's Snowflake mappings each take one way of signing in, picked when the DAG is built; picking
by reading the connection there would be a secrets-backend call at every parse. This mapping
decides when a task renders its profile: a PEM key in `private_key_content` is key-pair sign-in
(the connection's password, when set, is the key's passphrase: what `make deploy` writes),
otherwise the password signs in (compose's emulator connection, or a password account). Secrets
go to dbt as environment variables only, never into the profile file. Imports Cosmos.
"""

from __future__ import annotations

from typing import Any

from cosmos.profiles.snowflake import SnowflakeEncryptedPrivateKeyPemProfileMapping
from cosmos.profiles.snowflake.base import SnowflakeBaseProfileMapping

_SECRETS = ("password", "private_key", "private_key_passphrase")


class SnowflakeConnectionProfileMapping(SnowflakeEncryptedPrivateKeyPemProfileMapping):
    """Key pair (with or without a passphrase) or password, as the connection holds it."""

    required_fields = ["account", "user", "database", "warehouse", "schema"]
    airflow_param_mapping = {
        **SnowflakeEncryptedPrivateKeyPemProfileMapping.airflow_param_mapping,
        "password": "password",
    }

    @property
    def secret_fields(self) -> list[str]:  # type: ignore[override]
        conn = self.conn  # decodes a base64 key, as the provider stores it since 6.3
        if not conn.extra_dejson.get("private_key_content"):
            return ["password"]
        return ["private_key", "private_key_passphrase"] if conn.password else ["private_key"]

    @property
    def profile(self) -> dict[str, Any | None]:
        profile_vars = SnowflakeBaseProfileMapping.profile.fget(self)
        for field in _SECRETS:
            profile_vars.pop(field, None)
        profile_vars.update({f: self.get_env_var_format(f) for f in self.secret_fields})
        return self.filter_null(profile_vars)
