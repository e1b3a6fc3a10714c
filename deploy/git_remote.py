"""DagDelivery=git-bundle: before `make deploy` changes anything, the repository must answer and
the branch or tag must exist, read with the credentials the dag-processor will use.

The credentials are those of the Airflow connection in the GitConnectionSecretArn secret (a
token over HTTPS). They reach git through a credential helper that reads them from this process's
environment: never in a URL, an argument (visible in `ps`), a file or a message.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - git with fixed arguments, no shell
from dataclasses import dataclass
from typing import Any

from deploy.dag_delivery import GIT_CONN_ID, DeliveryError, GitSource
from deploy.inputs import InputError

# What each value is called where the user sets it (docs/deploy.md).
URL_INPUT = "DEPLOY_GIT_REPO_URL (--git-repo-url)"
REF_INPUT = "DEPLOY_GIT_REF (--git-ref)"
CONNECTION_INPUT = "DEPLOY_GIT_CONNECTION_SECRET_ARN (--git-connection-secret-arn)"
# git asks the helper for a user name and password; it reads them from these variables.
_USER_VARIABLE = "DEPLOY_GIT_CHECK_LOGIN"
_TOKEN_VARIABLE = "DEPLOY_GIT_CHECK_TOKEN"  # noqa: S105 - a variable's name, not a secret
_HELPER = f'!f() {{ echo "username=${_USER_VARIABLE}"; echo "password=${_TOKEN_VARIABLE}"; }}; f'
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Credentials:
    login: str
    token: str

    def __repr__(self) -> str:  # never print the token
        return f"Credentials(login={self.login!r}, token=<hidden>)"


@dataclass(frozen=True)
class FoundRef:
    kind: str  # "branch" or "tag"
    commit: str


def connection_credentials(secretsmanager: Any, secret_arn: str) -> Credentials:
    """The login and token of the Airflow connection JSON held by the secret."""
    try:
        text = secretsmanager.get_secret_value(SecretId=secret_arn)["SecretString"]
    except Exception as error:  # noqa: BLE001 - every failure means the same to the user
        raise InputError(
            f"{CONNECTION_INPUT}: the secret cannot be read ({type(error).__name__}); give "
            "the full ARN of a Secrets Manager secret in this account and region that your AWS "
            "credentials may read"
        ) from None
    try:
        connection = json.loads(text)
    except ValueError:
        connection = None
    if not isinstance(connection, dict) or not connection.get("password"):
        raise InputError(
            f"{CONNECTION_INPUT}: the secret must hold the Airflow connection as JSON with the "
            'token as its password: {"conn_type": "git", "login": "x-access-token", "password": '
            '"<token>"} (the value is not shown here)'
        )
    return Credentials(login=str(connection.get("login") or "user"), token=connection["password"])


def git_environment(credentials: Credentials | None) -> dict[str, str]:
    """The environment `git ls-remote` runs with: never a prompt, credentials from variables."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    if credentials:
        index = int(env.get("GIT_CONFIG_COUNT", "0"))  # after the user's own, if any
        env |= {
            "GIT_CONFIG_COUNT": str(index + 1),
            f"GIT_CONFIG_KEY_{index}": "credential.helper",
            f"GIT_CONFIG_VALUE_{index}": _HELPER,
            _USER_VARIABLE: credentials.login,
            _TOKEN_VARIABLE: credentials.token,
        }
    return env


def _remote_refs(source: GitSource, credentials: Credentials | None) -> dict[str, str]:
    """Ref name -> commit of every branch and tag (annotated tags: their commit)."""
    command = ["git", "ls-remote", "--heads", "--tags", "--", source.repo_url]
    try:
        done = subprocess.run(  # noqa: S603 # nosec B603 - fixed arguments, no shell
            command,
            env=git_environment(credentials),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            f"{URL_INPUT}: {source.repo_url} did not answer within {TIMEOUT_SECONDS} s; check "
            "the URL and that this machine reaches the git host over HTTPS"
        ) from None
    except FileNotFoundError:
        raise InputError("git is not installed: install it to check the repository") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.split())
        if credentials:
            said = said.replace(credentials.token, "<token>")
        fix = (
            "check the token in the secret: it needs read access to this repository"
            if credentials
            else f"for a private repository, set {CONNECTION_INPUT} to a secret holding its token"
        )
        raise InputError(
            f"{URL_INPUT}: git cannot read {source.repo_url} ({said}); check the URL, and {fix}"
        )
    refs: dict[str, str] = {}
    for line in done.stdout.splitlines():
        commit, _, name = line.partition("\t")
        if name.endswith("^{}"):  # the commit an annotated tag points at
            refs[name.removesuffix("^{}")] = commit
        else:
            refs.setdefault(name, commit)
    return refs


def check(source: GitSource, credentials: Credentials | None = None) -> FoundRef:
    """The branch or tag `source.tracking_ref` of `source.repo_url`, or an InputError saying
    which input to fix and how."""
    refs = _remote_refs(source, credentials)
    for kind, prefix in (("branch", "refs/heads/"), ("tag", "refs/tags/")):
        if prefix + source.tracking_ref in refs:
            return FoundRef(kind=kind, commit=refs[prefix + source.tracking_ref])
    names = sorted({name.split("/", 2)[2] for name in refs})
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "") if names else "none"
    raise InputError(
        f"{REF_INPUT}: {source.repo_url} has no branch or tag {source.tracking_ref!r}; push it "
        f"first or give one it has ({shown})"
    )


def source_from(
    repo_url: str, ref: str, subdir: str, refresh_interval: str, has_secret: bool
) -> GitSource:
    """The GitSource the stack will render, from the deploy's inputs (GIT_CONN_ID when a secret
    is given)."""
    try:
        return GitSource(
            repo_url=repo_url,
            tracking_ref=ref,
            subdir=subdir,
            refresh_interval=int(refresh_interval),
            git_conn_id=GIT_CONN_ID if has_secret else None,
        )
    except (DeliveryError, ValueError) as error:
        raise InputError(f"{error} (DEPLOY_GIT_* inputs, docs/deploy.md)") from None
