"""`python -m local ready PORT`: whether a stand-in on localhost answers as its clients need it to.

The one probe behind compose's healthchecks and the rehearsal's waits: a TLS handshake that a
client trusting only the stand-in's CA accepts for the name it connects to (fakesnow, the git
server over HTTPS), an SSH server's greeting (the git server over SSH), or a plain TCP connect
(moto). Standard library only: it runs inside the containers every few seconds.
"""

from __future__ import annotations

import socket
import ssl

TIMEOUT_SECONDS = 2.0


def check(port: int, tls_ca: str | None = None, tls_name: str | None = None, ssh: bool = False):
    """Returns when the server on localhost:`port` answers; raises OSError (or ssl.SSLError)
    saying why not."""
    with socket.create_connection(("localhost", port), TIMEOUT_SECONDS) as connection:
        if tls_ca:
            context = ssl.create_default_context(cafile=tls_ca)
            context.wrap_socket(connection, server_hostname=tls_name or "localhost").close()
        elif ssh:
            connection.settimeout(TIMEOUT_SECONDS)
            greeting = connection.recv(8)
            if not greeting.startswith(b"SSH-2.0"):
                raise OSError(f"port {port} greets with {greeting!r}, not as an SSH server")
