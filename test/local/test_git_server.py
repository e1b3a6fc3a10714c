"""The stand-in git host (local/git_server.py) as Airflow meets it: the git provider's
GitDagBundle clones it over HTTPS with the token of the connection `git_default`; without the
token nothing is served; a push lands."""

from __future__ import annotations

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


def test_git_dag_bundle_clones_with_the_connections_token(served, monkeypatch, tmp_path):
    from airflow.providers.git.bundles.git import GitDagBundle

    connection = {"conn_type": "git", "login": "x-access-token", "password": served["token"]}
    monkeypatch.setenv("AIRFLOW_CONN_GIT_DEFAULT", json.dumps(connection))
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(tmp_path / "b"))
    bundle = GitDagBundle(
        name="dags-git",
        repo_url=served["url"],
        tracking_ref="main",
        subdir=DAGS_SUBDIR,
        git_conn_id="git_default",
    )
    bundle.initialize()
    assert bundle.get_current_version().version == git_repo.head(served["bare"])
    cloned = sorted(p.relative_to(bundle.path) for p in bundle.path.rglob("*.py"))
    seeded = sorted(p.relative_to(SEED) for p in SEED.rglob("*.py") if "__pycache__" not in p.parts)
    assert cloned == seeded and cloned
    assert all((bundle.path / p).read_bytes() == (SEED / p).read_bytes() for p in cloned)


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
