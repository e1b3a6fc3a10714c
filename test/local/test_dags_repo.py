"""`make run DAGS_FROM=git`: the stack's git repository, its bundle config, and GitDagBundle
reading it over a file:// URL (no stack needed)."""

from __future__ import annotations

import json

import pytest

from deploy.dag_delivery import CONFIG_ENV
from local import dags_repo, git_repo
from local import settings as settings_mod
from local.airflow_env import airflow_env
from local.settings import REPO, Settings


@pytest.fixture
def git_settings(tmp_path) -> Settings:
    return Settings.on_free_ports(tmp_path / "state", dags_from="git")


def _files(folder) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_dags_from_is_folder_or_git(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="allowed: folder, git"):
        Settings.on_free_ports(tmp_path, dags_from="s3")
    monkeypatch.setenv("LOCAL_STACK_DAGS_FROM", "git")
    assert settings_mod.load().dags_from == "git"
    monkeypatch.delenv("LOCAL_STACK_DAGS_FROM")
    assert settings_mod.load().dags_from == "folder"


def test_folder_reads_the_working_tree_and_git_the_state_repository(tmp_path, git_settings):
    folder = Settings.on_free_ports(tmp_path / "other")
    (image,) = json.loads(dags_repo.bundle_config(folder))
    assert image["classpath"].endswith("LocalDagBundle")
    assert dags_repo.connection_env(folder) == {}

    (bundle,) = json.loads(dags_repo.bundle_config(git_settings))
    assert bundle["name"] == dags_repo.BUNDLE_NAME == "dags-git"
    assert bundle["kwargs"] == {
        "repo_url": (git_settings.state_dir / "dags-repo").as_uri(),
        "tracking_ref": "main",
        "subdir": "airflow/dags",
        "refresh_interval": dags_repo.REFRESH_SECONDS,
        "git_conn_id": "git_default",
    }
    connection = json.loads(dags_repo.connection_env(git_settings)["AIRFLOW_CONN_GIT_DEFAULT"])
    assert connection == {"conn_type": "git", "host": bundle["kwargs"]["repo_url"]}


def test_every_airflow_process_gets_the_bundle_and_a_storage_folder_of_its_stack(git_settings):
    env = airflow_env(git_settings)
    assert env[CONFIG_ENV] == dags_repo.bundle_config(git_settings)
    storage = env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH"]
    assert storage.startswith(str(git_settings.state_dir))
    assert "AIRFLOW_CONN_GIT_DEFAULT" in env


def test_the_repository_starts_as_the_working_trees_dags_and_takes_commits(git_settings):
    said = []
    dags_repo.ensure(git_settings, said.append)
    path = dags_repo.repo_dir(git_settings)
    first = git_repo.head(path)
    assert _files(path / "airflow" / "dags") == _files(REPO / "airflow" / "dags")
    assert "created" in said[0] and first[:12] in said[-1]

    dags_repo.ensure(git_settings, said.append)  # once made, left as it is
    assert git_repo.head(path) == first
    second = git_repo.commit_files(path, {"airflow/dags/extra.py": "# airflow dag\n"}, "extra")
    assert git_repo.head(path) == second != first
    assert git_repo.git(path, "log", "--format=%s", "-1") == "extra"
    git_repo.commit_files(path, {"airflow/dags/extra.py": None}, "extra removed")
    assert not (path / "airflow" / "dags" / "extra.py").exists()


def test_git_dag_bundle_reads_the_repository_over_file_url_at_head_and_at_a_commit(
    git_settings, monkeypatch
):
    """The provider's own bundle class on the repository: the tracking clone is at the branch's
    head; a bundle of an older version checks that commit out (what a worker does for a run)."""
    dags_repo.ensure(git_settings, lambda _line: None)
    path = dags_repo.repo_dir(git_settings)
    first = git_repo.head(path)
    second = git_repo.commit_files(path, {"airflow/dags/extra.py": "# airflow dag\n"}, "extra")
    monkeypatch.setenv(
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(git_settings.state_dir / "bundles")
    )
    monkeypatch.setenv("AIRFLOW_CONN_GIT_DEFAULT", json.dumps({"conn_type": "git"}))
    from airflow.providers.git.bundles.git import GitDagBundle

    kwargs = json.loads(dags_repo.bundle_config(git_settings))[0]["kwargs"]
    tracking = GitDagBundle(name="t", **kwargs)
    tracking.initialize()
    assert tracking.get_current_version().version == second
    assert (tracking.path / "extra.py").is_file()
    pinned = GitDagBundle(name="t", version=first, **kwargs)
    pinned.initialize()
    assert pinned.path.name == "dags" and first in str(pinned.path)
    assert (pinned.path / "snowflake_raw.py").is_file()
    assert not (pinned.path / "extra.py").exists()


def test_a_tag_pins_the_bundle_and_a_branch_follows_its_head(git_settings, monkeypatch):
    """The provider's refresh (what the dag-processor does every refresh_interval): a bundle on a
    tag stays at the tag while the branch moves on, and follows the tag when it is moved; a bundle
    on the branch follows every commit."""
    dags_repo.ensure(git_settings, lambda _line: None)
    path = dags_repo.repo_dir(git_settings)
    release = git_repo.head(path)
    git_repo.git(path, "tag", "release")
    monkeypatch.setenv(
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(git_settings.state_dir / "bundles")
    )
    monkeypatch.setenv("AIRFLOW_CONN_GIT_DEFAULT", json.dumps({"conn_type": "git"}))
    from airflow.providers.git.bundles.git import GitDagBundle

    kwargs = json.loads(dags_repo.bundle_config(git_settings))[0]["kwargs"]
    pinned = GitDagBundle(name="prod", **{**kwargs, "tracking_ref": "release"})
    following = GitDagBundle(name="dev", **kwargs)
    for bundle in (pinned, following):
        bundle.initialize()

    head = git_repo.commit_files(path, {"airflow/dags/extra.py": "# airflow dag\n"}, "extra")
    for bundle in (pinned, following):
        bundle.refresh()
    assert pinned.get_current_version().version == release
    assert not (pinned.path / "extra.py").exists()
    assert following.get_current_version().version == head

    git_repo.git(path, "tag", "--force", "release", head)  # the release moves on
    pinned.refresh()
    assert pinned.get_current_version().version == head
    assert (pinned.path / "extra.py").is_file()
