"""Build and push the Airflow image to the storage stack's ECR repository (when Docker is here)."""

from __future__ import annotations

import base64
import shutil
import subprocess  # noqa: S404 - fixed docker argv, never a shell
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deploy import build_context

REPO = build_context.REPO
PLATFORMS = {"ARM64": "linux/arm64", "X86_64": "linux/amd64"}


def docker_available() -> bool:
    return shutil.which("docker") is not None


def source_tag(repo: Path = REPO) -> str:
    """Tag from the commit, plus a digest of the build context's files that differ from it
    (modified, deleted or untracked): ECR tags are immutable, so any change to what goes into
    the image must give a new tag, and a change Docker never sees (docs, templates) must not."""
    head = build_context.git(repo, "rev-parse", "--short=12", "HEAD")
    changed = build_context.changed_context_files(repo)
    if not changed:
        return head
    return f"{head}-{build_context.digest(repo, changed)[:12]}"


def image_exists(ecr: Any, repository_uri: str, tag: str) -> bool:
    name = repository_uri.split("/", 1)[1]
    try:
        ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])
    except ecr.exceptions.ImageNotFoundException:
        return False
    return True


def build_and_push(
    ecr: Any,
    repository_uri: str,
    architecture: str,
    say: Callable[[str], None] = print,
    run: Callable[..., Any] = subprocess.run,
) -> str:
    """Push the image for the current source unless that tag is already there; returns its URI."""
    tag = source_tag()
    uri = f"{repository_uri}:{tag}"
    if image_exists(ecr, repository_uri, tag):
        say(f"  image {uri}: already pushed")
        return uri
    say(f"  building {uri} for {PLATFORMS[architecture]}")
    run(
        ["docker", "build", "--platform", PLATFORMS[architecture], "-t", uri, str(REPO)], check=True
    )
    token = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    registry = repository_uri.split("/", 1)[0]
    run(
        ["docker", "login", "--username", user, "--password-stdin", registry],
        input=password,
        text=True,
        check=True,
        capture_output=True,
    )
    run(["docker", "push", uri], check=True)
    return uri
