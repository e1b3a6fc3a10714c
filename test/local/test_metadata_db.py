"""The local metadata DB is a real PostgreSQL server: started, signed into and stopped by PID."""

import os
from pathlib import Path

import psycopg2
import pytest

from local import metadata_db, processes
from local.settings import HOST, Settings


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = Settings.on_free_ports(tmp_path_factory.mktemp("metadata-db"))
    pid = metadata_db.start(settings)
    try:
        metadata_db.wait_ready(settings)
        yield settings, pid
    finally:
        processes.stop(settings, metadata_db.NAME)


def _cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def test_server_runs_from_the_wheel_with_its_cluster_in_the_state_folder(server):
    settings, pid = server
    assert processes.running_pid(settings, metadata_db.NAME) == pid
    argv = _cmdline(pid)
    assert Path(argv[0]) == metadata_db.bin_dir() / "postgres"
    assert argv[argv.index("-D") + 1] == str(settings.state_dir / "postgres")
    assert (settings.state_dir / "postgres" / "PG_VERSION").read_text().strip() == "16"
    # The cluster's files are ours, and so is the server (seen from outside); as root it runs in
    # a user namespace of its own, where it is not root (PostgreSQL refuses to run as root).
    assert os.stat(settings.state_dir / "postgres" / "PG_VERSION").st_uid == os.geteuid()
    assert os.stat(f"/proc/{pid}").st_uid == os.geteuid()
    if os.geteuid() == 0:
        inside_uid, outside_uid, _ = Path(f"/proc/{pid}/uid_map").read_text().split()
        assert (int(inside_uid), int(outside_uid)) == (metadata_db.NAMESPACE_UID, 0)


def test_airflow_database_takes_the_stack_url_and_refuses_a_wrong_password(server):
    settings, _ = server
    url = metadata_db.url(settings)
    assert url.startswith(f"postgresql://airflow:{metadata_db.password(settings)}@{HOST}:")
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT current_database(), current_user, version()")
        database, user, version = cur.fetchone()
    conn.close()
    assert (database, user) == ("airflow", "airflow") and version.startswith("PostgreSQL 16")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(
            host=HOST,
            port=settings.postgres_port,
            user="airflow",
            password="wrong",
            dbname="airflow",
        )
    assert oct(os.stat(settings.state_dir / "postgres.password").st_mode & 0o777) == "0o600"


def test_listens_on_loopback_only_and_no_unix_socket(server):
    settings, _ = server
    conn = psycopg2.connect(metadata_db.url(settings))
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT current_setting('listen_addresses'), current_setting('unix_socket_directories')"
        )
        assert cur.fetchone() == (HOST, "")
    conn.close()
    assert not list((settings.state_dir / "postgres").glob(".s.PGSQL.*"))


def test_second_start_reuses_the_running_server_and_stop_ends_it(tmp_path):
    settings = Settings.on_free_ports(tmp_path)
    pid = metadata_db.start(settings)
    metadata_db.wait_ready(settings)
    assert metadata_db.start(settings) is None  # already running: nothing new
    assert processes.stop(settings, metadata_db.NAME)
    assert not processes.alive(pid)
    # Stopped with SIGINT, PostgreSQL's fast shutdown (SIGTERM would wait for every client).
    assert "received fast shutdown request" in (settings.log_dir / "postgres.log").read_text()
    assert not processes.port_open(settings.postgres_port)
    # The cluster survives a restart: the next start reuses it (no initdb) and signs in.
    assert metadata_db.start(settings)
    metadata_db.wait_ready(settings)
    processes.stop(settings, metadata_db.NAME)
