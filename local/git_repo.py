"""Plain git on a local repository: what the local stack's DAG repository (local/dags_repo.py)
and the stand-in git server (local/git_server.py) share. Standard library only: the dev image
runs the git server without the deploy package."""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404 - git with fixed arguments, no shell
from pathlib import Path

BRANCH = "main"
# Who commits (git refuses to commit without a name).
_IDENTITY = {
    "GIT_AUTHOR_NAME": "local stack",
    "GIT_AUTHOR_EMAIL": "local-stack@localhost",
    "GIT_COMMITTER_NAME": "local stack",
    "GIT_COMMITTER_EMAIL": "local-stack@localhost",
}


def git(path: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed git argv, no shell
        ["git", "-C", str(path), "-c", "commit.gpgsign=false", *args],  # noqa: S607
        env={**os.environ, **_IDENTITY},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {path} failed:\n{done.stderr}")
    return done.stdout.strip()


def head(path: Path, ref: str = BRANCH) -> str:
    """The commit `ref` points at."""
    return git(path, "rev-parse", ref)


def commit_files(path: Path, files: dict[str, str | None], message: str) -> str:
    """Write (or, for None, delete) files given by their path in the repository, commit them on
    the checked-out branch and return the new commit."""
    for name, text in files.items():
        target = path / name
        if text is None:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--message", message)
    return head(path, "HEAD")


def create_with_dags(path: Path, dags: Path, subdir: str, message: str) -> str:
    """A new repository at `path`, branch BRANCH, whose one commit holds a copy of the DAG
    folder `dags` at `subdir`; its commit."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch", BRANCH)
    (path / ".gitignore").write_text("__pycache__/\n*.pyc\n")
    shutil.copytree(dags, path / subdir, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--message", message)
    return head(path)
