"""The local stack's Airflow metadata database: a PostgreSQL server, the engine of RDS and compose.

PostgreSQL comes from PyPI's `pgserver` wheel, used only for its binaries: we run `postgres`
ourselves, so the server is one process recorded by PID and stopped like the rest of the stack.
Its cluster lives in the state folder, it listens on 127.0.0.1 only, and it asks for a password
(scram-sha-256) that is generated once into a 0600 file beside the other local secrets.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import subprocess
from pathlib import Path

from local import processes
from local.settings import HOST, Settings
from local.shared_secrets import write_private

NAME = "postgres"
DATABASE = "airflow"
USER = "airflow"
# Who we are inside the server's user namespace when we run as root (any uid but 0).
NAMESPACE_UID = 1000
# Small and fast is what a one-user metadata DB needs; the defaults are sized for a server.
SERVER_OPTIONS = {
    "listen_addresses": HOST,
    "unix_socket_directories": "",
    "shared_buffers": "32MB",
    "max_connections": "100",
}


def bin_dir() -> Path:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("PostgreSQL (the pgserver package) is not installed: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def data_dir(settings: Settings) -> Path:
    return settings.state_dir / "postgres"


def password(settings: Settings) -> str:
    """The `airflow` role's password, generated once (0600, like the stack's other secrets)."""
    path = settings.state_dir / "postgres.password"
    if not path.exists():
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        write_private(path, secrets.token_urlsafe(24))
    return path.read_text()


def url(settings: Settings, driver: str = "postgresql") -> str:
    """The SQLAlchemy URL of the metadata DB (Airflow derives its asyncpg URL from it)."""
    return f"{driver}://{USER}:{password(settings)}@{HOST}:{settings.postgres_port}/{DATABASE}"


def _not_as_root(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root. As root (CI), run it in a user namespace of its own in
    which we are an ordinary user: it keeps our files and their permissions, needs no system user
    and no change to any folder's mode."""
    if os.geteuid() != 0:
        return argv
    return [
        "unshare",
        "--user",
        f"--map-user={NAMESPACE_UID}",
        f"--map-group={NAMESPACE_UID}",
        *argv,
    ]


def _init_cluster(settings: Settings) -> None:
    data = data_dir(settings)
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    pwfile = settings.state_dir / "postgres.initdb-password"
    pwfile.unlink(missing_ok=True)  # left by an initdb that was interrupted
    write_private(pwfile, password(settings))
    initdb = [
        str(bin_dir() / "initdb"),
        *("--pgdata", str(data), "--username", USER, "--pwfile", str(pwfile)),
        *("--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-sync"),
    ]
    try:
        result = subprocess.run(  # noqa: S603 - binaries of the installed pgserver wheel
            _not_as_root(initdb), capture_output=True, text=True, check=False
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        detail = f"{result.stdout}{result.stderr}"
        raise RuntimeError(f"initdb of the local metadata DB failed:\n{detail}")


def start(settings: Settings) -> int | None:
    """Start the server unless it runs; return the new PID (None if it was running)."""
    if processes.running_pid(settings, NAME):
        return None
    if processes.port_open(settings.postgres_port):
        raise RuntimeError(
            f"port {settings.postgres_port} on {HOST} is taken by another program; "
            "set LOCAL_STACK_POSTGRES_PORT to a free port"
        )
    _init_cluster(settings)
    options = {**SERVER_OPTIONS, "port": str(settings.postgres_port)}
    argv = [str(bin_dir() / "postgres"), "-D", str(data_dir(settings))]
    for key, value in options.items():
        argv += ["-c", f"{key}={value}"]
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"}
    # SIGTERM asks PostgreSQL to wait for its clients to leave; SIGINT is its fast shutdown.
    return processes.start(settings, NAME, _not_as_root(argv), env, stop_signal=signal.SIGINT)


def _connect(settings: Settings, database: str):
    import psycopg2

    return psycopg2.connect(
        host=HOST,
        port=settings.postgres_port,
        user=USER,
        password=password(settings),
        dbname=database,
        connect_timeout=2,
    )


def query(settings: Settings, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of one read of Airflow's metadata DB (what its REST API does not show)."""
    from contextlib import closing

    with closing(_connect(settings, DATABASE)) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _accepts_connections(settings: Settings) -> bool:
    import psycopg2

    try:
        _connect(settings, "postgres").close()
    except psycopg2.OperationalError:
        return False
    return True


def wait_ready(settings: Settings, timeout: float = 60) -> None:
    """Wait until the server accepts sign-ins, then create the `airflow` database once."""
    processes.wait_until(
        lambda: _accepts_connections(settings),
        timeout,
        "the local PostgreSQL server",
        settings.log_dir / f"{NAME}.log",
    )
    conn = _connect(settings, "postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cur.fetchone() is None:
                cur.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        conn.close()
