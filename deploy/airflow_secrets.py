"""The secrets Airflow shares across components, and the Snowflake connection in SSM.

Both live outside the stacks on purpose: the Fernet key must outlive any stack replacement (it
decrypts stored connections), and CloudFormation can neither generate a valid Fernet key nor
create SecureString parameters. Values are generated here, written once, and never printed.
"""

from __future__ import annotations

import json
from typing import Any

from deploy.inputs import DeployInputs
from local.shared_secrets import generate as generate_core_values

SNOWFLAKE_PARAMETER = "/airflow/connections/snowflake_default"


def core_secret_name(environment_name: str) -> str:
    return f"{environment_name}/airflow/core"


def ensure_core_secret(client: Any, environment_name: str) -> tuple[str, str]:
    """Create the shared secret, or add only the keys it lacks. Returns (ARN, what happened)."""
    name = core_secret_name(environment_name)
    restored = _restore_if_scheduled_for_deletion(client, name)
    try:
        current = client.get_secret_value(SecretId=name)
    except client.exceptions.ResourceNotFoundException:
        created = client.create_secret(
            Name=name,
            Description="Airflow Fernet key, JWT secret and API secret key (make deploy)",
            SecretString=json.dumps(generate_core_values()),
        )
        return created["ARN"], "created"
    values = json.loads(current["SecretString"])
    missing = {k: v for k, v in generate_core_values().items() if not values.get(k)}
    actions = ["restored (make destroy had scheduled it for deletion)"] if restored else []
    if missing:
        client.put_secret_value(SecretId=name, SecretString=json.dumps({**values, **missing}))
        actions.append(f"added {', '.join(sorted(missing))}")
    return current["ARN"], "; ".join(actions) or "unchanged"


def _restore_if_scheduled_for_deletion(client: Any, name: str) -> bool:
    """`make destroy` schedules the secret for deletion; until then it can be neither read nor
    created again. Its Fernet key still decrypts what a database snapshot holds, so a redeploy
    takes the same secret back rather than generating new keys."""
    try:
        described = client.describe_secret(SecretId=name)
    except client.exceptions.ResourceNotFoundException:
        return False
    if "DeletedDate" not in described:
        return False
    client.restore_secret(SecretId=name)
    return True


def snowflake_connection(inputs: DeployInputs) -> str:
    """The snowflake_default connection, key-pair authentication (no password sign-in)."""
    connection: dict[str, Any] = {
        "conn_type": "snowflake",
        "login": inputs.snowflake_user,
        "extra": {
            "account": inputs.snowflake_account,
            "warehouse": inputs.snowflake_warehouse,
            "database": inputs.snowflake_database,
            "role": inputs.snowflake_role,
            "private_key_content": inputs.snowflake_private_key,
        },
    }
    if inputs.snowflake_private_key_passphrase:
        # the provider uses the connection password as the private key's passphrase
        connection["password"] = inputs.snowflake_private_key_passphrase
    return json.dumps(connection, sort_keys=True)


def ensure_snowflake_connection(client: Any, inputs: DeployInputs) -> str:
    value = snowflake_connection(inputs)
    try:
        current = client.get_parameter(Name=SNOWFLAKE_PARAMETER, WithDecryption=True)
        if current["Parameter"]["Value"] == value:
            return "unchanged"
        action = "updated"
    except client.exceptions.ParameterNotFound:
        action = "created"
    client.put_parameter(
        Name=SNOWFLAKE_PARAMETER,
        Description="Airflow connection snowflake_default (key-pair auth), written by make deploy",
        Value=value,
        Type="SecureString",
        Overwrite=True,
        Tier="Advanced" if len(value) > 4096 else "Standard",
    )
    return action
