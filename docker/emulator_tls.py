"""Issue fakesnow's TLS certificate for its compose service name before the emulator starts.

`python -m local serve-snowflake` (local/tls.py) issues a certificate for 127.0.0.1/localhost,
which is what `make run` needs, and reuses the files it finds. In docker compose the clients
reach fakesnow as `snowflake`, so this writes the same three files (ca.pem, server.pem,
server.key) with that name added, and the launcher then serves them unchanged.

Usage: python docker/emulator_tls.py TLS_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

HOSTNAMES = ("snowflake", "localhost", "127.0.0.1")


def covers(cert_pem: Path, hostnames: tuple[str, ...]) -> bool:
    """Whether the certificate names every one of the hostnames (DNS or IP)."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = {*san.get_values_for_type(x509.DNSName)}
    names |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return set(hostnames) <= names


def ensure(tls_dir: Path, hostnames: tuple[str, ...] = HOSTNAMES) -> bool:
    """Write a CA and a server certificate for the hostnames unless they exist; True if written."""
    import trustme

    ca_pem, cert_pem, key_pem = tls_dir / "ca.pem", tls_dir / "server.pem", tls_dir / "server.key"
    if ca_pem.exists() and key_pem.exists() and cert_pem.exists() and covers(cert_pem, hostnames):
        return False
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="airflow-snowflake-fargate local CA")
    server = ca.issue_cert(*hostnames)
    ca.cert_pem.write_to_path(str(ca_pem))
    server.cert_chain_pems[0].write_to_path(str(cert_pem))
    server.private_key_pem.write_to_path(str(key_pem))
    key_pem.chmod(0o600)
    return True


if __name__ == "__main__":
    (directory,) = sys.argv[1:]
    written = ensure(Path(directory))
    print(f"{'issued' if written else 'kept'} the emulator certificate for {', '.join(HOSTNAMES)}")
