"""docker/emulator_tls.py: fakesnow's certificate names the compose service, and the launcher
(local/tls.py) serves it unchanged."""

from __future__ import annotations

import importlib.util
import socket
import ssl
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("emulator_tls", REPO / "docker" / "emulator_tls.py")
emulator_tls = importlib.util.module_from_spec(spec)
spec.loader.exec_module(emulator_tls)


def handshake(tls_dir: Path, server_hostname: str) -> None:
    """A TLS handshake over a socket pair, the client trusting only ca.pem (as the connector)."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tls_dir / "server.pem", tls_dir / "server.key")
    client_ctx = ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))
    left, right = socket.socketpair()
    with left, right:
        server = threading.Thread(target=lambda: _serve_once(server_ctx, right), daemon=True)
        server.start()
        with client_ctx.wrap_socket(left, server_hostname=server_hostname):
            pass
        server.join(timeout=5)


def _serve_once(context: ssl.SSLContext, sock: socket.socket) -> None:
    try:
        with context.wrap_socket(sock, server_side=True):
            pass
    except (ssl.SSLError, OSError):
        pass  # the client's side of the test reports the failure


def test_issues_a_certificate_for_the_service_name_that_the_ca_verifies(tmp_path):
    assert emulator_tls.ensure(tmp_path) is True
    assert emulator_tls.covers(tmp_path / "server.pem", ("snowflake", "localhost", "127.0.0.1"))
    handshake(tmp_path, "snowflake")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(tmp_path, "s3")
    assert (tmp_path / "server.key").stat().st_mode & 0o777 == 0o600


def test_keeps_a_certificate_that_already_names_the_service(tmp_path):
    emulator_tls.ensure(tmp_path)
    before = (tmp_path / "server.pem").read_bytes()
    assert emulator_tls.ensure(tmp_path) is False
    assert (tmp_path / "server.pem").read_bytes() == before


def test_replaces_the_launchers_localhost_only_certificate(tmp_path):
    from local.tls import ensure_certificates

    ensure_certificates(tmp_path)
    assert not emulator_tls.covers(tmp_path / "server.pem", ("snowflake",))
    assert emulator_tls.ensure(tmp_path) is True
    assert emulator_tls.covers(tmp_path / "server.pem", ("snowflake",))


def test_the_launcher_serves_our_files_unchanged(tmp_path):
    from local.tls import ensure_certificates

    emulator_tls.ensure(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in ("ca.pem", "server.pem")}
    ca_pem, cert_pem, _ = ensure_certificates(tmp_path)
    assert (ca_pem.read_bytes(), cert_pem.read_bytes()) == (before["ca.pem"], before["server.pem"])
