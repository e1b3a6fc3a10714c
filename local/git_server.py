"""A git host for the DAG bundle where there is none: HTTPS with a token, or SSH with a key.

Compose's `git-server` service (docker-compose-git.yml) and the deploy rehearsal's git stand-in
run it, so that a GitDagBundle clones and fetches as it would from GitHub or GitLab: over TLS
(a certificate from a CA of its own, which clients trust through GIT_SSL_CAINFO), signed in
with a token through the Airflow connection `git_default`. Clone, fetch and push go through
`git http-backend`, git's CGI program; every request needs HTTP basic auth whose password is
the token (any user name, as with a personal access token).

Over SSH (`make_ssh_server`, asyncssh) it runs git's own `git-upload-pack` and `git-receive-pack`
for a client whose public key is authorized (GIT_SERVER_AUTHORIZED_KEYS), and nothing else: no
shell, no password. Its host key is made once and pinned by the `ssh_known_hosts` file beside it,
which clients are given, as a user pins GitHub's published keys.

On first start it creates the repository REPOSITORY (branch main) with one commit: the DAG
folder it is given (`--seed`), at DAGS_SUBDIR as in this project's repository.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import os
import shlex
import ssl
import subprocess  # nosec B404 - git http-backend with a fixed argv, no shell
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from local.git_repo import create_with_dags, git

REPOSITORY = "pipelines.git"
# Where this project keeps its DAGs (deploy.dag_delivery.DAGS_SUBDIR; a test keeps them equal).
DAGS_SUBDIR = "airflow/dags"
TOKEN_ENV = "GIT_SERVER_TOKEN"  # noqa: S105 - the variable's name, not a secret
# The public keys (authorized_keys lines) whose private keys may clone, fetch and push over SSH.
AUTHORIZED_KEYS_ENV = "GIT_SERVER_AUTHORIZED_KEYS"
# The host key to serve with, when the caller made it (the rehearsal pins it before the host runs).
HOST_KEY_ENV = "GIT_SERVER_SSH_HOST_KEY"
HOST_KEY_FILE = "ssh_host_ed25519_key"
KNOWN_HOSTS_FILE = "ssh_known_hosts"  # the host key, pinned for the server's names
_GIT_COMMANDS = ("git-upload-pack", "git-receive-pack")
# The request headers git http-backend reads as CGI variables.
_CGI_HEADERS = {
    "Content-Type": "CONTENT_TYPE",
    "Content-Encoding": "HTTP_CONTENT_ENCODING",
    "Git-Protocol": "GIT_PROTOCOL",
}


def seed(root: Path, dags: Path) -> Path:
    """The bare repository under `root`, created once from the DAG folder `dags`."""
    bare = root / REPOSITORY
    if (bare / "HEAD").exists():
        return bare
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="git-seed-") as work:
        create_with_dags(Path(work), dags, DAGS_SUBDIR, f"DAGs from {dags}")
        git(root, "clone", "--quiet", "--bare", work, str(bare))
    git(bare, "config", "http.receivepack", "true")
    return bare


def _handler(root: Path, token: str) -> type[BaseHTTPRequestHandler]:
    class GitHandler(BaseHTTPRequestHandler):
        server_version = "local-git-server"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._git()

        def do_POST(self) -> None:  # noqa: N802
            self._git()

        def _user(self) -> str | None:
            """The signed-in user name when the request carries the token, else None."""
            scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return (user or "token") if hmac.compare_digest(password, token) else None

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _git(self) -> None:
            user = self._user()
            if user is None:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            body = self._body()
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": os.environ.get("HOME", str(root)),  # where git looks for its own config
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": user,
                "REMOTE_ADDR": self.client_address[0],
            }
            for header, variable in _CGI_HEADERS.items():
                if header in self.headers:
                    env[variable] = self.headers[header]
            done = subprocess.run(  # noqa: S603 - fixed argv
                ["git", "http-backend"],  # noqa: S607
                input=body,
                env=env,
                capture_output=True,
                check=False,
            )
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = done.stdout.partition(b"\n\n")
            status, headers = 200, []
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            if done.returncode != 0 and not head:
                status, payload = 500, done.stderr
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return GitHandler


def make_server(
    host: str, port: int, root: Path, token: str, cert: Path, key: Path
) -> ThreadingHTTPServer:
    """The HTTPS server over the repositories under `root` (not yet serving)."""
    if not token:
        raise ValueError(f"{TOKEN_ENV} is empty: the server accepts only requests carrying it")
    server = ThreadingHTTPServer((host, port), _handler(root, token))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def new_key_pair() -> tuple[str, str]:
    """A new ed25519 key: (private key in OpenSSH form, its authorized_keys line). A client's key
    for the host to authorize, or a host key to serve with."""
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    return key.export_private_key().decode(), key.export_public_key().decode()


def ensure_host_key(
    folder: Path, names: Sequence[str], port: int, private_key: str = ""
) -> tuple[Path, Path]:
    """The server's SSH host key (`private_key` when given, else made on first start; kept) and
    the known_hosts file that pins it for `names` at `port`: what a client is given instead of
    trusting the key on first use."""
    import asyncssh

    key_path = folder / HOST_KEY_FILE
    if private_key or not key_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key = asyncssh.import_private_key(private_key) if private_key else None
        (key or asyncssh.generate_private_key("ssh-ed25519")).write_private_key(str(key_path))
        key_path.chmod(0o600)
    algorithm, blob = asyncssh.read_private_key(str(key_path)).export_public_key().split()[:2]
    hosts = ",".join(name if port == 22 else f"[{name}]:{port}" for name in names)
    known_hosts = folder / KNOWN_HOSTS_FILE
    known_hosts.write_text(f"{hosts} {algorithm.decode()} {blob.decode()}\n")
    return key_path, known_hosts


def _repository(command: str, root: Path) -> tuple[str, Path]:
    """The git command and the repository under `root` an SSH exec request names, as git sends
    it (`git-upload-pack '/pipelines.git'`), or ValueError."""
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = []
    if len(argv) != 2 or argv[0] not in _GIT_COMMANDS:
        raise ValueError("only git clone, fetch and push are served here")
    path = (root / argv[1].lstrip("/~")).resolve()
    if not path.is_relative_to(root.resolve()) or not (path / "HEAD").is_file():
        raise ValueError(f"no repository {argv[1]!r} here")
    return argv[0], path


def _handle_ssh(root: Path):
    async def handle(process: Any) -> None:
        try:
            command, path = _repository(process.command or "", root)
        except ValueError as error:
            process.stderr.write(f"{error}\n".encode())
            process.exit(128)
            return
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)}
        protocol = process.env.get("GIT_PROTOCOL") or process.env.get(b"GIT_PROTOCOL")
        if protocol:  # git protocol v2, when the client sent it (SendEnv)
            env["GIT_PROTOCOL"] = protocol.decode() if isinstance(protocol, bytes) else protocol
        git_process = await asyncio.create_subprocess_exec(
            command,
            str(path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        await process.redirect(
            stdin=git_process.stdin, stdout=git_process.stdout, stderr=git_process.stderr
        )
        process.exit(await git_process.wait())
        await process.wait_closed()  # and lets the redirects finish their queues

    return handle


async def make_ssh_server(
    host: str, port: int, root: Path, authorized_keys: str, host_key: Path
) -> Any:
    """The SSH server over the repositories under `root`, serving: public-key sign-in for the
    `authorized_keys` lines only, git's pack commands only."""
    import asyncssh

    if not authorized_keys.strip():
        raise ValueError(
            f"{AUTHORIZED_KEYS_ENV} is empty: the server accepts only the keys listed there"
        )
    return await asyncssh.create_server(
        asyncssh.SSHServer,
        host,
        port,
        server_host_keys=[str(host_key)],
        authorized_client_keys=asyncssh.import_authorized_keys(authorized_keys),
        process_factory=_handle_ssh(root),
        encoding=None,
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_pty=False,
    )


@contextmanager
def ssh_server_thread(
    host: str, port: int, root: Path, authorized_keys: str, host_key: Path
) -> Iterator[None]:
    """`make_ssh_server` serving on an event loop of its own thread, for callers that are not
    asyncio (tests); closed on exit."""
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(make_ssh_server(host, port, root, authorized_keys, host_key))
    thread = threading.Thread(target=loop.run_forever, name="git-ssh-server", daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
