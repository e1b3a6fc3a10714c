"""DagDelivery=git-bundle: before `make deploy` changes anything, the repository must answer and
the branch or tag must exist, read with the credentials the dag-processor will use.

The credentials are those of the Airflow connection in the GitConnectionSecretArn secret: a
token over HTTPS, or a private key (the connection's extra `private_key`) over SSH. A token
reaches git through a credential helper that reads it from this process's environment: never in
a URL, an argument (visible in `ps`), a file or a message. A key is written, as the git provider
writes it, to a private temporary file (0600) that is gone when the check ends; the host key is
checked against DEPLOY_GIT_SSH_KNOWN_HOSTS, as the image's ssh checks it (never first use).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess  # nosec B404 - git with fixed arguments, no shell
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.dag_delivery import GIT_CONN_ID, DeliveryError, GitSource
from deploy.inputs import InputError

# What each value is called where the user sets it (docs/deploy.md).
URL_INPUT = "DEPLOY_GIT_REPO_URL (--git-repo-url)"
REF_INPUT = "DEPLOY_GIT_REF (--git-ref)"
CONNECTION_INPUT = "DEPLOY_GIT_CONNECTION_SECRET_ARN (--git-connection-secret-arn)"
KNOWN_HOSTS_INPUT = "DEPLOY_GIT_SSH_KNOWN_HOSTS (--git-ssh-known-hosts)"
# git asks the helper for a user name and password; it reads them from these variables.
_USER_VARIABLE = "DEPLOY_GIT_CHECK_LOGIN"
_TOKEN_VARIABLE = "DEPLOY_GIT_CHECK_TOKEN"  # noqa: S105 - a variable's name, not a secret
_HELPER = f'!f() {{ echo "username=${_USER_VARIABLE}"; echo "password=${_TOKEN_VARIABLE}"; }}; f'
_PASSPHRASE_VARIABLE = "DEPLOY_GIT_CHECK_PASSPHRASE"  # noqa: S105 - a variable's name
TIMEOUT_SECONDS = 60
# git's own SSH URL forms: ssh://[user@]host/path and the scp-like user@host:path
_SCP_LIKE = re.compile(r"^[^/@:]+@[^/:]+:")


def is_ssh_url(url: str) -> bool:
    return url.startswith(("ssh://", "git+ssh://")) or bool(_SCP_LIKE.match(url))


@dataclass(frozen=True)
class Credentials:
    login: str
    token: str

    def __repr__(self) -> str:  # never print the token
        return f"Credentials(login={self.login!r}, token=<hidden>)"


@dataclass(frozen=True)
class SshKey:
    private_key: str
    passphrase: str = ""

    def __repr__(self) -> str:  # never print the key
        return "SshKey(<hidden>)"


@dataclass(frozen=True)
class FoundRef:
    kind: str  # "branch" or "tag"
    commit: str


def connection_credentials(
    secretsmanager: Any, secret_arn: str, ssh: bool = False
) -> Credentials | SshKey:
    """The token (HTTPS) or the private key (`ssh`) of the Airflow connection JSON the secret
    holds."""
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
    if not isinstance(connection, dict):
        connection = {}
    if ssh:
        extra = connection.get("extra") or {}
        if isinstance(extra, str):
            try:
                extra = json.loads(extra)
            except ValueError:
                extra = {}
        if not isinstance(extra, dict) or not extra.get("private_key"):
            raise InputError(
                f"{CONNECTION_INPUT}: for an SSH URL the secret must hold the Airflow connection "
                'as JSON with the private key in its extra: {"conn_type": "git", "extra": '
                '{"private_key": "<key>", "strict_host_key_checking": "yes"}} (the value is not '
                "shown here)"
            )
        return SshKey(str(extra["private_key"]), str(extra.get("private_key_passphrase") or ""))
    if not connection.get("password"):
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


@contextmanager
def _ssh_environment(env: dict[str, str], key: SshKey | None, known_hosts: str) -> Iterator[None]:
    """GIT_SSH_COMMAND as the dag-processor's ssh runs: the key (in a private temporary file),
    strict host key checking against `known_hosts` only; a passphrase through SSH_ASKPASS."""
    with tempfile.TemporaryDirectory(prefix="git-check-") as folder:
        hosts = Path(folder, "known_hosts")
        hosts.write_text(known_hosts.strip() + "\n")
        options = [
            "ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
        ]  # fmt: skip
        if key:
            key_file = Path(folder, "key")
            key_file.touch(mode=0o600)
            key_file.write_text(key.private_key.strip() + "\n")
            options += ["-o", "IdentitiesOnly=yes", "-i", str(key_file)]
        if key and key.passphrase:
            askpass = Path(folder, "askpass")
            askpass.write_text(f'#!/bin/sh\nprintf "%s\\n" "${_PASSPHRASE_VARIABLE}"\n')
            askpass.chmod(0o700)
            env |= {
                "SSH_ASKPASS": str(askpass),
                "SSH_ASKPASS_REQUIRE": "force",
                _PASSPHRASE_VARIABLE: key.passphrase,
            }
        else:
            options += ["-o", "BatchMode=yes"]
        env["GIT_SSH_COMMAND"] = shlex.join(options)
        yield


def _refused_because(said: str, credentials: Credentials | SshKey | None) -> str:
    """What to fix, from git's or ssh's words."""
    if "Host key verification failed" in said:
        return (
            f"check {KNOWN_HOSTS_INPUT}: it must hold this host's public key (ssh-keyscan "
            "prints it; compare its fingerprint with the one the git host publishes)"
        )
    if isinstance(credentials, SshKey):
        return (
            "check the key in the secret: its public key must have read access to this repository"
        )
    if credentials:
        return "check the token in the secret: it needs read access to this repository"
    return f"for a private repository, set {CONNECTION_INPUT} to a secret holding its token or key"


def _remote_refs(
    source: GitSource, credentials: Credentials | SshKey | None, known_hosts: str = ""
) -> dict[str, str]:
    """Ref name -> commit of every branch and tag (annotated tags: their commit)."""
    ssh = is_ssh_url(source.repo_url)
    if ssh and not known_hosts.strip():
        raise InputError(
            f"{KNOWN_HOSTS_INPUT}: {source.repo_url} is an SSH URL, so the git host's public key "
            "must be given (pinned, never trusted on first use): e.g. "
            f'{KNOWN_HOSTS_INPUT.split()[0]}="$(ssh-keyscan <host>)", its fingerprint compared '
            "with the one the host publishes"
        )
    token = credentials if isinstance(credentials, Credentials) else None
    key = credentials if isinstance(credentials, SshKey) else None
    env = git_environment(token)
    command = ["git", "ls-remote", "--heads", "--tags", "--", source.repo_url]
    try:
        with _ssh_environment(env, key, known_hosts) if ssh else nullcontext():
            done = subprocess.run(  # noqa: S603 # nosec B603 - fixed arguments, no shell
                command,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
    except subprocess.TimeoutExpired:
        transport = "SSH (port 22)" if ssh else "HTTPS"
        raise InputError(
            f"{URL_INPUT}: {source.repo_url} did not answer within {TIMEOUT_SECONDS} s; check "
            f"the URL and that this machine reaches the git host over {transport}"
        ) from None
    except FileNotFoundError:
        raise InputError("git is not installed: install it to check the repository") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.split())
        if token:
            said = said.replace(token.token, "<token>")
        raise InputError(
            f"{URL_INPUT}: git cannot read {source.repo_url} ({said}); check the URL, and "
            f"{_refused_because(said, credentials)}"
        )
    refs: dict[str, str] = {}
    for line in done.stdout.splitlines():
        commit, _, name = line.partition("\t")
        if name.endswith("^{}"):  # the commit an annotated tag points at
            refs[name.removesuffix("^{}")] = commit
        else:
            refs.setdefault(name, commit)
    return refs


def check(
    source: GitSource, credentials: Credentials | SshKey | None = None, known_hosts: str = ""
) -> FoundRef:
    """The branch or tag `source.tracking_ref` of `source.repo_url`, or an InputError saying
    which input to fix and how. `known_hosts`: the git host's keys, for an SSH URL."""
    refs = _remote_refs(source, credentials, known_hosts)
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
