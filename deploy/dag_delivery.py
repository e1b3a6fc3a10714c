"""Where Airflow reads the DAGs from (DagDelivery): the one home of the `[dag_processor]
dag_bundle_config_list` each delivery renders.

- `image`: the DAG folder baked into the image (Airflow's own default, a LocalDagBundle);
- `s3-bundle`: an S3DagBundle over a prefix of the stage bucket (deploy/dag_bundle.py syncs it);
- `git-bundle`: a GitDagBundle over a repository at a branch (runs follow its head) or a tag
  (pinned); every DAG run records the commit it ran as its bundle version.

Only the DAG folder travels in a bundle; the plugins, sql/ and the dbt project stay in the image
(README, "DAGs from git"). Credentials never appear here: a private repository is read through
the Airflow connection `git_conn_id` (its password a token, or an SSH key in its extra), which a
secrets backend or an AIRFLOW_CONN_* secret supplies. Standard library only: the local stack, the
deploy code and the compose helpers import it alike.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

DELIVERIES = ("image", "s3-bundle", "git-bundle")
# The variable that carries the list to every component (each resolves the same bundle: the
# scheduler and the workers run what the dag-processor parsed).
CONFIG_ENV = "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"
BUNDLE_NAMES = {"image": "dags-folder", "s3-bundle": "dags", "git-bundle": "dags-git"}
CLASSPATHS = {
    "image": "airflow.dag_processing.bundles.local.LocalDagBundle",
    "s3-bundle": "airflow.providers.amazon.aws.bundles.s3.S3DagBundle",
    "git-bundle": "airflow.providers.git.bundles.git.GitDagBundle",
}
# Where this repository keeps its DAGs: the subdir of a git bundle of this repository.
DAGS_SUBDIR = "airflow/dags"
DEFAULT_REFRESH_SECONDS = 60
# The connection a private repository is read through; on ECS it comes from the stack's
# GitConnectionSecretArn as AIRFLOW_CONN_GIT_DEFAULT (cloudformation/airflow.yml).
GIT_CONN_ID = "git_default"
_REF = re.compile(r"^[A-Za-z0-9._/-]+$")


class DeliveryError(ValueError):
    pass


@dataclass(frozen=True)
class GitSource:
    """A git repository the DAGs are read from.

    `tracking_ref`: a branch (the dag-processor follows its head) or a tag (pins a version).
    `git_conn_id`: the Airflow connection holding the credentials of a private repository;
    None for a repository that needs none (a public one, or a local path).
    """

    repo_url: str
    tracking_ref: str
    subdir: str = DAGS_SUBDIR
    refresh_interval: int = DEFAULT_REFRESH_SECONDS
    git_conn_id: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if not self.repo_url:
            problems.append("repo_url is empty")
        elif _carries_credentials(self.repo_url):
            problems.append(
                f"repo_url {without_credentials(self.repo_url)!r} carries credentials: put the "
                "token or key in the Airflow connection named by git_conn_id (Secrets Manager), "
                "never in a URL"
            )
        if not _REF.match(self.tracking_ref or "") or ".." in self.tracking_ref:
            problems.append(
                f"tracking_ref {self.tracking_ref!r} is not a branch or tag name "
                "(letters, digits, '.', '_', '-', '/')"
            )
        subdir = PurePosixPath(self.subdir)
        if subdir.is_absolute() or ".." in subdir.parts:
            problems.append(f"subdir {self.subdir!r} must be a path inside the repository")
        if self.refresh_interval < 0:
            problems.append(f"refresh_interval {self.refresh_interval} must be >= 0 seconds")
        if problems:
            raise DeliveryError("git-bundle: " + "; ".join(problems))

    def kwargs(self) -> dict:
        found = {
            "repo_url": self.repo_url,
            "tracking_ref": self.tracking_ref,
            "subdir": self.subdir,
            "refresh_interval": self.refresh_interval,
        }
        if self.git_conn_id:
            found["git_conn_id"] = self.git_conn_id
        return found


# user:password@ after a URL scheme (git@host:path is a user name, not a secret)
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]*:[^/@\s]*@")


def _carries_credentials(url: str) -> bool:
    """user:password@ in an http(s) or ssh URL."""
    return urlsplit(url).scheme in ("http", "https", "ssh") and bool(_URL_CREDENTIALS.search(url))


def without_credentials(text: str) -> str:
    """`text` as a message may quote it: every URL in it without its user:password@ (a token
    pasted into a repository URL would otherwise reach the terminal and CI logs)."""
    return _URL_CREDENTIALS.sub("<credentials>@", text)


def bundle_config_list(
    delivery: str,
    *,
    git: GitSource | None = None,
    s3_bucket: str | None = None,
    s3_prefix: str = "dags/",
    aws_conn_id: str = "aws_default",
    refresh_interval: int = DEFAULT_REFRESH_SECONDS,
) -> list[dict]:
    """The `dag_bundle_config_list` of a delivery: one bundle, named by BUNDLE_NAMES."""
    if delivery not in DELIVERIES:
        raise DeliveryError(f"DagDelivery {delivery!r} is not one of: {', '.join(DELIVERIES)}")
    if delivery == "image":
        kwargs: dict = {}
    elif delivery == "s3-bundle":
        if not s3_bucket:
            raise DeliveryError("s3-bundle needs the stage bucket's name (s3_bucket)")
        kwargs = {
            "aws_conn_id": aws_conn_id,
            "bucket_name": s3_bucket,
            "prefix": s3_prefix,
            "refresh_interval": refresh_interval,
        }
    else:
        if git is None:
            raise DeliveryError("git-bundle needs a repository (GitSource: URL, branch or tag)")
        kwargs = git.kwargs()
    return [{"name": BUNDLE_NAMES[delivery], "classpath": CLASSPATHS[delivery], "kwargs": kwargs}]


def bundle_config_json(delivery: str, **options) -> str:
    """`bundle_config_list` as the JSON text CONFIG_ENV holds."""
    return json.dumps(bundle_config_list(delivery, **options))
