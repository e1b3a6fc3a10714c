"""`make run DAGS_FROM=git`: the DAG processor reads the DAGs from a git repository through the git
provider's GitDagBundle, as a deployment with DagDelivery=git-bundle does, instead of the
working tree's airflow/dags.

The repository is `<state folder>/dags-repo` (created on first use: one commit whose
airflow/dags is a copy of the working tree's), branch `main`, read over a file:// URL: commit
there and the dag-processor picks the commit up within REFRESH_SECONDS, nothing restarted.
LOCAL_STACK_DAGS_REPO (a path or URL) and LOCAL_STACK_DAGS_REF (a branch or tag) read another
repository instead, e.g. a clone of this one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from deploy.dag_delivery import (
    BUNDLE_NAMES,
    DAGS_SUBDIR,
    GIT_CONN_ID,
    GitSource,
    bundle_config_json,
)
from local import metadata_db
from local.git_repo import BRANCH, create_with_dags, head
from local.settings import REPO, Settings

BUNDLE_NAME = BUNDLE_NAMES["git-bundle"]

REPO_ENV = "LOCAL_STACK_DAGS_REPO"
REF_ENV = "LOCAL_STACK_DAGS_REF"
# How often the dag-processor fetches the repository (the bundle's refresh_interval).
REFRESH_SECONDS = 10
# The connection the bundle reads the repository with, as on ECS (where Secrets Manager holds its
# token or key); here it holds the URL only: a local repository needs no credentials.
CONNECTION_ID = GIT_CONN_ID


def repo_dir(settings: Settings) -> Path:
    return settings.state_dir / "dags-repo"


def git_source(settings: Settings) -> GitSource:
    """The repository, ref and DAG folder the stack's GitDagBundle reads (no credentials)."""
    return GitSource(
        repo_url=os.environ.get(REPO_ENV) or repo_dir(settings).as_uri(),
        tracking_ref=os.environ.get(REF_ENV) or BRANCH,
        subdir=DAGS_SUBDIR,
        refresh_interval=REFRESH_SECONDS,
        git_conn_id=CONNECTION_ID,
    )


def connection_env(settings: Settings) -> dict[str, str]:
    """The git connection of the Airflow processes (DAGs from git only)."""
    if settings.dags_from != "git":
        return {}
    url = git_source(settings).repo_url
    return {f"AIRFLOW_CONN_{CONNECTION_ID.upper()}": json.dumps({"conn_type": "git", "host": url})}


def bundle_config(settings: Settings) -> str:
    """The stack's `dag_bundle_config_list`, rendered by the same code as every delivery's."""
    if settings.dags_from == "git":
        return bundle_config_json("git-bundle", git=git_source(settings))
    return bundle_config_json("image")


def ensure(settings: Settings, echo=print) -> None:
    """Create the stack's repository on first use; say which commit the DAGs come from."""
    source = git_source(settings)
    if os.environ.get(REPO_ENV):
        echo(f"  DAGs from git: {source.repo_url} at {source.tracking_ref} ({source.subdir}/)")
        return
    path = repo_dir(settings)
    if not (path / ".git").is_dir():
        create_with_dags(path, REPO / DAGS_SUBDIR, DAGS_SUBDIR, f"DAGs from {REPO / DAGS_SUBDIR}")
        echo(f"  DAGs from git: created {path}, its {DAGS_SUBDIR}/ a copy of the working tree's")
    echo(
        f"  DAGs from git: {source.repo_url} branch {source.tracking_ref} at "
        f"{head(path, source.tracking_ref)[:12]} ({source.subdir}/); commit there, "
        f"the dag-processor fetches every {source.refresh_interval} s"
    )


def parsed_version(settings: Settings) -> str | None:
    """The commit the dag-processor last refreshed the bundle to and parses (Airflow's
    dag_bundle table; the REST API does not show it, nor does an import error carry it)."""
    rows = metadata_db.query(
        settings, "SELECT version FROM dag_bundle WHERE name = %s", (BUNDLE_NAME,)
    )
    return rows[0][0] if rows else None
