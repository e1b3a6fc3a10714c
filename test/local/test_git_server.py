"""The stand-in git host (local/git_server.py) as Airflow meets it: the git provider's
GitDagBundle clones it over HTTPS with the token of the connection `git_default`, or over SSH
with the connection's private key and the host key pinned; without the token or an authorized key
nothing is served; a push lands."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

import pytest

from deploy.dag_delivery import DAGS_SUBDIR
from local import git_repo, git_server
from local.settings import REPO, free_port
from local.tls import ensure_certificates

SEED = REPO / DAGS_SUBDIR


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A running server over a repository seeded from the project's DAG folder."""
    token = secrets.token_urlsafe(24)
    root = tmp_path / "repos"
    bare = git_server.seed(root, SEED)
    ca, cert, key = ensure_certificates(tmp_path / "tls")
    port = free_port()
    server = git_server.make_server("127.0.0.1", port, root, token, cert, key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GIT_SSL_CAINFO", str(ca))
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    yield {
        "url": f"https://127.0.0.1:{port}/{git_server.REPOSITORY}",
        "token": token,
        "bare": bare,
    }
    server.shutdown()
    server.server_close()


def _with(url: str, user: str, password: str) -> str:
    return url.replace("https://", f"https://{user}:{password}@")


def _ls_remote(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "ls-remote", url, "main"], capture_output=True, text=True, check=False
    )


def test_the_subdir_is_where_this_project_keeps_its_dags():
    assert git_server.DAGS_SUBDIR == DAGS_SUBDIR


def _initialized_bundle(monkeypatch, url: str, connection: dict):
    """The git provider's GitDagBundle over `url` with `connection` as git_default, cloned."""
    from airflow.providers.git.bundles.git import GitDagBundle

    monkeypatch.setenv("AIRFLOW_CONN_GIT_DEFAULT", json.dumps(connection))
    bundle = GitDagBundle(
        name="dags-git",
        repo_url=url,
        tracking_ref="main",
        subdir=DAGS_SUBDIR,
        git_conn_id="git_default",
    )
    bundle.initialize()
    return bundle


def _holds_the_seed(bundle, bare: Path) -> None:
    """The bundle is at the repository's head, and its DAG files are the seed's, byte for byte."""
    assert bundle.get_current_version().version == git_repo.head(bare)
    cloned = sorted(p.relative_to(bundle.path) for p in bundle.path.rglob("*.py"))
    seeded = sorted(p.relative_to(SEED) for p in SEED.rglob("*.py") if "__pycache__" not in p.parts)
    assert cloned == seeded and cloned
    assert all((bundle.path / p).read_bytes() == (SEED / p).read_bytes() for p in cloned)


def test_git_dag_bundle_clones_with_the_connections_token(served, monkeypatch, tmp_path):
    connection = {"conn_type": "git", "login": "x-access-token", "password": served["token"]}
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(tmp_path / "b"))
    _holds_the_seed(_initialized_bundle(monkeypatch, served["url"], connection), served["bare"])


def _refs_status(served, password: str | None) -> int:
    """The HTTP status of git's first request (the refs) with basic auth `x:password`."""
    request = urllib.request.Request(f"{served['url']}/info/refs?service=git-upload-pack")
    if password is not None:
        request.add_header("Authorization", "Basic " + b64encode(f"x:{password}".encode()).decode())
    context = ssl.create_default_context(cafile=os.environ["GIT_SSL_CAINFO"])
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_without_the_token_nothing_is_served(served):
    assert _refs_status(served, served["token"]) == 200
    assert _refs_status(served, None) == 401
    assert _refs_status(served, served["token"] + "x") == 401
    assert _refs_status(served, "") == 401
    head = git_repo.head(served["bare"])
    assert _ls_remote(_with(served["url"], "x", served["token"])).stdout.split()[0] == head
    refused = _ls_remote(_with(served["url"], "x", "wrong"))
    assert refused.returncode != 0 and head not in refused.stdout
    assert "Authentication failed" in refused.stderr, refused.stderr


def test_a_push_with_the_token_lands_and_a_restart_keeps_the_repository(served, tmp_path):
    work = tmp_path / "work"
    url = _with(served["url"], "x", served["token"])
    subprocess.run(["git", "clone", "--quiet", url, str(work)], check=True, env=os.environ)
    pushed = git_repo.commit_files(work, {f"{DAGS_SUBDIR}/new_dag.py": "# new\n"}, "a DAG change")
    git_repo.git(work, "push", "--quiet", "origin", "main")
    assert git_repo.head(served["bare"]) == pushed
    assert git_server.seed(served["bare"].parent, SEED) == served["bare"]
    assert git_repo.head(served["bare"]) == pushed
    assert _ls_remote(url).stdout.split()[0] == pushed


def test_a_server_without_a_token_refuses_to_start(tmp_path):
    _, cert, key = ensure_certificates(tmp_path / "tls")
    with pytest.raises(ValueError, match=git_server.TOKEN_ENV):
        git_server.make_server("127.0.0.1", free_port(), tmp_path, "", cert, key)


def test_the_seed_commit_holds_the_dag_folder_at_its_subdir(tmp_path):
    bare = git_server.seed(tmp_path / "repos", SEED)
    listed = git_repo.git(bare, "ls-tree", "-r", "--name-only", "main").splitlines()
    expected = {
        f"{DAGS_SUBDIR}/{p.relative_to(SEED)}"
        for p in SEED.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert set(listed) == expected | {".gitignore"}
    assert Path(bare, "HEAD").read_text().strip() == "ref: refs/heads/main"


# --- SSH ---------------------------------------------------------------------------------------
# The image's ssh config (Dockerfile: /etc/ssh/ssh_config.d/): host keys from GIT_SSH_KNOWN_HOSTS.
IMAGE_SSH_CONFIG = REPO / "docker" / "ssh_config_git_known_hosts.conf"
# Some other host's key: what a host that is not the pinned one presents.
OTHER_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


@pytest.fixture
def served_ssh(tmp_path, monkeypatch):
    """An SSH server over a repository seeded from the project's DAG folder, one key authorized;
    its host key pinned in a known_hosts file."""
    private_key, public_key = git_server.new_key_pair()
    root = tmp_path / "repos"
    bare = git_server.seed(root, SEED)
    port = free_port()
    host_key, known_hosts = git_server.ensure_host_key(tmp_path / "tls", ("127.0.0.1",), port)
    key_file = tmp_path / "id_ed25519"
    key_file.write_text(private_key)
    key_file.chmod(0o600)
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(tmp_path / "b"))
    with git_server.ssh_server_thread("127.0.0.1", port, root, public_key, host_key):
        yield {
            "url": f"ssh://git@127.0.0.1:{port}/{git_server.REPOSITORY}",
            "port": port,
            "bare": bare,
            "private_key": private_key,
            "key_file": key_file,
            "known_hosts": known_hosts,
        }


def _ssh_bundle(served_ssh, monkeypatch, **extra):
    """A GitDagBundle over the SSH URL with the connection's private key and strict host key
    checking (the host key must be known beforehand), initialized."""
    extra = {"private_key": served_ssh["private_key"], "strict_host_key_checking": "yes", **extra}
    connection = {"conn_type": "git", "extra": extra}
    return _initialized_bundle(monkeypatch, served_ssh["url"], connection)


def _ssh_git(
    served_ssh, *args: str, known_hosts: str, key_file=None
) -> subprocess.CompletedProcess:
    """git with ssh as the provider runs it: strict host key checking, one identity."""
    ssh = (
        f"ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile={known_hosts} "
        f"-o IdentitiesOnly=yes -o BatchMode=yes -i {key_file or served_ssh['key_file']}"
    )
    env = {**os.environ, "GIT_SSH_COMMAND": ssh}
    return subprocess.run(["git", *args], capture_output=True, text=True, env=env, check=False)


def test_git_dag_bundle_clones_over_ssh_with_the_connections_key(served_ssh, monkeypatch):
    bundle = _ssh_bundle(served_ssh, monkeypatch, known_hosts_file=str(served_ssh["known_hosts"]))
    _holds_the_seed(bundle, served_ssh["bare"])


def test_the_images_ssh_config_pins_the_host_key_from_the_environment(served_ssh, monkeypatch):
    """What runs on ECS: no known_hosts file in the connection; the image's ssh config reads the
    host keys from GIT_SSH_KNOWN_HOSTS (the stack's GitSshKnownHosts)."""
    config = {"ssh_config_file": str(IMAGE_SSH_CONFIG)}
    monkeypatch.setenv("GIT_SSH_KNOWN_HOSTS", served_ssh["known_hosts"].read_text())
    _holds_the_seed(_ssh_bundle(served_ssh, monkeypatch, **config), served_ssh["bare"])

    # A host presenting another key than the pinned one is refused.
    monkeypatch.setenv("GIT_SSH_KNOWN_HOSTS", f"[127.0.0.1]:{served_ssh['port']} {OTHER_HOST_KEY}")
    storage = served_ssh["key_file"].parent / "other"
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(storage))
    with pytest.raises(RuntimeError, match="Error cloning") as refused:
        _ssh_bundle(served_ssh, monkeypatch, **config)
    assert "Host key verification failed" in str(refused.value.__cause__)


def test_an_unknown_or_changed_host_key_is_refused(served_ssh, tmp_path):
    pinned = git_repo.head(served_ssh["bare"])
    ok = _ssh_git(
        served_ssh, "ls-remote", served_ssh["url"], "main", known_hosts=served_ssh["known_hosts"]
    )
    assert ok.returncode == 0 and ok.stdout.split()[0] == pinned, ok.stderr
    other = tmp_path / "other_known_hosts"
    other.write_text(f"[127.0.0.1]:{served_ssh['port']} {OTHER_HOST_KEY}\n")
    changed = _ssh_git(served_ssh, "ls-remote", served_ssh["url"], known_hosts=other)
    assert changed.returncode != 0 and "Host key verification failed" in changed.stderr
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    unknown = _ssh_git(served_ssh, "ls-remote", served_ssh["url"], known_hosts=empty)
    assert unknown.returncode != 0 and "Host key verification failed" in unknown.stderr


def test_a_key_not_authorized_is_refused(served_ssh, tmp_path):
    other_key = tmp_path / "other_key"
    other_key.write_text(git_server.new_key_pair()[0])
    other_key.chmod(0o600)
    refused = _ssh_git(
        served_ssh,
        "ls-remote",
        served_ssh["url"],
        known_hosts=served_ssh["known_hosts"],
        key_file=other_key,
    )
    assert refused.returncode != 0 and "Permission denied (publickey)" in refused.stderr


def test_only_git_is_served_and_only_its_repositories(served_ssh):
    ssh = [
        "ssh", "-p", str(served_ssh["port"]), "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={served_ssh['known_hosts']}", "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes", "-i", str(served_ssh["key_file"]), "git@127.0.0.1",
    ]  # fmt: skip
    shell = subprocess.run([*ssh, "cat /etc/passwd"], capture_output=True, text=True, check=False)
    assert shell.returncode == 128 and "only git clone, fetch and push" in shell.stderr
    assert "root:" not in shell.stdout
    outside = subprocess.run(
        [*ssh, "git-upload-pack '../../../etc'"], capture_output=True, text=True, check=False
    )
    assert outside.returncode == 128 and "no repository" in outside.stderr


def test_a_push_over_ssh_lands(served_ssh, tmp_path):
    work = tmp_path / "work"
    known = served_ssh["known_hosts"]
    cloned = _ssh_git(
        served_ssh, "clone", "--quiet", served_ssh["url"], str(work), known_hosts=known
    )
    assert cloned.returncode == 0, cloned.stderr
    pushed = git_repo.commit_files(work, {f"{DAGS_SUBDIR}/new_dag.py": "# new\n"}, "a DAG change")
    done = _ssh_git(
        served_ssh, "-C", str(work), "push", "--quiet", "origin", "main", known_hosts=known
    )
    assert done.returncode == 0, done.stderr
    assert git_repo.head(served_ssh["bare"]) == pushed


def test_an_ssh_server_without_authorized_keys_refuses_to_start(tmp_path):
    host_key, _ = git_server.ensure_host_key(tmp_path, ("127.0.0.1",), 22)
    with pytest.raises(ValueError, match=git_server.AUTHORIZED_KEYS_ENV):
        asyncio.run(git_server.make_ssh_server("127.0.0.1", free_port(), tmp_path, " ", host_key))


def test_the_host_key_is_made_once_and_pinned_for_every_name(tmp_path):
    key, known_hosts = git_server.ensure_host_key(tmp_path, ("git.example", "127.0.0.1"), 22)
    first, pinned = key.read_bytes(), known_hosts.read_text()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    again, known_again = git_server.ensure_host_key(tmp_path, ("git.example",), 2222)
    assert again.read_bytes() == first
    names, algorithm, blob = pinned.split()
    assert (names, algorithm) == ("git.example,127.0.0.1", "ssh-ed25519")
    assert known_again.read_text().split() == ["[git.example]:2222", algorithm, blob]
    public = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(key)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert public[:2] == [algorithm, blob]


def test_a_host_key_given_is_the_one_served_and_pinned(tmp_path):
    """The rehearsal makes the host key first, to give its known_hosts line to make deploy."""
    import asyncssh

    given = asyncssh.generate_private_key("ssh-ed25519")
    key, known_hosts = git_server.ensure_host_key(
        tmp_path, ("git.example",), 22, given.export_private_key().decode()
    )
    assert asyncssh.read_private_key(str(key)).export_public_key() == given.export_public_key()
    assert known_hosts.read_text().split()[2] == given.export_public_key().decode().split()[1]


def test_the_ready_probe_knows_an_ssh_server_from_other_servers(served_ssh, served):
    """`python -m local ready PORT --ssh` (the rehearsal's wait for the SSH git host)."""
    from local import ready

    ready.check(served_ssh["port"], ssh=True)
    https_port = int(served["url"].split(":")[2].split("/")[0])
    with pytest.raises(OSError):  # a TLS server says nothing first: no greeting in time
        ready.check(https_port, ssh=True)
    ready.check(https_port)  # though it does accept a connection
    with pytest.raises(ConnectionRefusedError):
        ready.check(free_port())
