"""A throwaway certificate authority so the real Snowflake connector can speak HTTPS to fakesnow.

The connector always uses HTTPS; it trusts our CA through REQUESTS_CA_BUNDLE (see FINDINGS).
"""

from __future__ import annotations

from pathlib import Path

import trustme


def ensure_certificates(tls_dir: Path, names: tuple[str, ...] = ()) -> tuple[Path, Path, Path]:
    """Create (once) a CA and a server certificate for 127.0.0.1/localhost and `names`; return
    their paths. The deploy rehearsal names the account host (<account>.snowflakecomputing.com)."""
    ca_pem, cert_pem, key_pem = tls_dir / "ca.pem", tls_dir / "server.pem", tls_dir / "server.key"
    if not (ca_pem.exists() and cert_pem.exists() and key_pem.exists()):
        tls_dir.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="airflow-snowflake-fargate local CA")
        # "snowflake" is the service name in docker-compose-local.yml.
        server = ca.issue_cert("127.0.0.1", "localhost", "snowflake", *names)
        ca.cert_pem.write_to_path(str(ca_pem))
        server.cert_chain_pems[0].write_to_path(str(cert_pem))
        server.private_key_pem.write_to_path(str(key_pem))
        key_pem.chmod(0o600)
    return ca_pem, cert_pem, key_pem
