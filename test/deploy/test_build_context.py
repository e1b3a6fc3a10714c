"""Defect 13a: the image tag changes with every file that goes into the build context (git's
tracked and untracked-but-not-ignored files, .dockerignore applied), and only with those."""

from __future__ import annotations

import subprocess

import pytest

from deploy import build_context, image


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / ".dockerignore").write_text("*\n!airflow/dags/\n**/__pycache__\n")
    (tmp_path / ".gitignore").write_text("*.log\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "airflow" / "dags").mkdir(parents=True)
    (tmp_path / "airflow" / "dags" / "raw.py").write_text("dag = 1\n")
    (tmp_path / "docs.md").write_text("docs\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one")
    return tmp_path


def test_a_clean_tree_is_tagged_with_its_commit(repo):
    head = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    assert image.source_tag(repo) == head


def test_a_new_untracked_file_in_the_context_changes_the_tag(repo):
    clean = image.source_tag(repo)
    (repo / "airflow" / "dags" / "new.py").write_text("dag = 2\n")
    dirty = image.source_tag(repo)
    assert dirty.startswith(f"{clean}-") and dirty != clean
    (repo / "airflow" / "dags" / "new.py").write_text("dag = 3\n")  # edited again, still untracked
    assert image.source_tag(repo) not in (clean, dirty)


def test_a_modified_or_deleted_context_file_changes_the_tag(repo):
    clean = image.source_tag(repo)
    (repo / "airflow" / "dags" / "raw.py").write_text("dag = 9\n")
    modified = image.source_tag(repo)
    (repo / "airflow" / "dags" / "raw.py").unlink()
    assert len({clean, modified, image.source_tag(repo)}) == 3


def test_files_docker_or_git_ignore_leave_the_tag_alone(repo):
    clean = image.source_tag(repo)
    (repo / "docs.md").write_text("changed docs\n")  # .dockerignore: not in the context
    (repo / "notes.txt").write_text("untracked, outside the context\n")
    (repo / "airflow" / "dags" / "__pycache__").mkdir()
    (repo / "airflow" / "dags" / "__pycache__" / "raw.cpython-311.pyc").write_bytes(b"\0")
    (repo / "airflow" / "dags" / "run.log").write_text("git ignores it\n")
    assert image.source_tag(repo) == clean


def test_the_dockerfile_is_always_in_the_context(repo):
    clean = image.source_tag(repo)
    (repo / "Dockerfile").write_text("FROM other\n")
    assert image.source_tag(repo) != clean
    assert build_context.context_files(repo) == [
        ".dockerignore",
        "Dockerfile",
        "airflow/dags/raw.py",
    ]
