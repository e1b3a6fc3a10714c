"""fakesnow's certificate in docker compose: the launcher (local/tls.py) names the compose
service `snowflake`, and the snowflake service's health check accepts it only then."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import trustme
from cryptography import x509

from local.settings import REPO
from local.tls import ensure_certificates

IMAGE_TLS_DIR = "/opt/airflow/.local/tls"


def subject_alt_names(cert_pem: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {*san.get_values_for_type(x509.DNSName)} | {
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    }


def test_the_launchers_certificate_names_the_compose_service_and_loopback(tmp_path):
    ca_pem, cert_pem, key_pem = ensure_certificates(tmp_path)
    assert (ca_pem, cert_pem, key_pem) == (
        tmp_path / "ca.pem",
        tmp_path / "server.pem",
        tmp_path / "server.key",
    )
    assert {"snowflake", "localhost", "127.0.0.1"} <= subject_alt_names(cert_pem)
    # 127.0.0.1 as an IP address entry, not a DNS name spelled like one
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert key_pem.stat().st_mode & 0o777 == 0o600


def test_the_launcher_keeps_the_certificates_it_finds_on_the_volume(tmp_path):
    ensure_certificates(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in ("ca.pem", "server.pem")}
    ensure_certificates(tmp_path)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


class TlsServer:
    """Accepts TLS handshakes on 127.0.0.1 with the given certificate, until closed."""

    def __init__(self, cert_pem: Path, key_pem: Path):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_pem, key_pem)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass  # the client side reports the failure

    def close(self) -> None:
        # wakes the accept() in the thread, which a close alone does not do on Linux
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(timeout=5)


def run_health_check(services: dict, tls_dir: Path, port: int) -> subprocess.CompletedProcess:
    """The snowflake service's health check, pointed at tls_dir and port instead of the image's."""
    argv = services["snowflake"]["healthcheck"]["test"][1:]
    assert argv[:2] == ["python", "-m"]
    argv = [a.replace(IMAGE_TLS_DIR, str(tls_dir)).replace("8443", str(port)) for a in argv[1:]]
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=30, cwd=REPO
    )


@pytest.fixture
def serve(tmp_path):
    servers = []

    def start(cert_pem: Path, key_pem: Path) -> TlsServer:
        servers.append(TlsServer(cert_pem, key_pem))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_the_health_check_passes_on_the_launchers_certificate(services, tmp_path, serve):
    _, cert_pem, key_pem = ensure_certificates(tmp_path)
    server = serve(cert_pem, key_pem)
    result = run_health_check(services, tmp_path, server.port)
    assert result.returncode == 0, result.stderr


def test_the_health_check_fails_without_the_ca_file(services, tmp_path, serve):
    _, cert_pem, key_pem = ensure_certificates(tmp_path)
    server = serve(cert_pem, key_pem)
    (tmp_path / "ca.pem").unlink()
    result = run_health_check(services, tmp_path, server.port)
    assert result.returncode != 0
    assert "FileNotFoundError" in result.stderr


def test_the_health_check_fails_on_a_certificate_without_the_service_name(
    services, tmp_path, serve
):
    # e.g. a volume kept from a launcher that certified only localhost
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    server_cert.cert_chain_pems[0].write_to_path(str(tmp_path / "server.pem"))
    server_cert.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    server = serve(tmp_path / "server.pem", tmp_path / "server.key")
    result = run_health_check(services, tmp_path, server.port)
    assert result.returncode != 0
    assert "SSLCertVerificationError" in result.stderr
