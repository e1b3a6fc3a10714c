"""The secrets every Airflow component of one deployment shares: Fernet key, JWT secret, API
secret key. One generator for the local stack, the compose .env (docker/init_env.py) and AWS.

Standard library only: docker/init_env.py runs before any virtualenv exists.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

GENERATORS = {
    # a Fernet key is 32 random bytes, url-safe base64
    "fernet_key": lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    # 64 random bytes; Airflow warns (PyJWT) on anything shorter than 64 bytes
    "jwt_secret": lambda: secrets.token_urlsafe(64),
    "api_secret_key": lambda: secrets.token_urlsafe(32),
}
# The environment variable through which Airflow reads each.
AIRFLOW_ENV = {
    "fernet_key": "AIRFLOW__CORE__FERNET_KEY",
    "jwt_secret": "AIRFLOW__API_AUTH__JWT_SECRET",
    "api_secret_key": "AIRFLOW__API__SECRET_KEY",
}


def generate() -> dict[str, str]:
    """Fresh values of every shared secret, by name."""
    return {name: make() for name, make in GENERATORS.items()}


def write_private(path: Path, content: str | bytes) -> None:
    """Create `path` readable by its owner only (0600) from the first byte; never overwrite."""
    data = content.encode() if isinstance(content, str) else content
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
