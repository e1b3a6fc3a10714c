"""DagDelivery=s3-bundle: the DAG folder synced to the stage bucket prefix Airflow's S3DagBundle
reads (airflow.yml: DagBundlePrefix of the storage stack's bucket).

The folder is what the image's DAG folder would hold (the build context under airflow/dags/,
.dockerignore applied); the plugins it imports are in the image. Objects are compared by the
SHA-256 of their content, kept in their metadata: with SSE-KMS, S3's ETag is not an MD5 of the
content, so it cannot tell a changed file from an unchanged one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from deploy import build_context

DAGS_FOLDER = "airflow/dags/"


def bundle_files(repo: Path = build_context.REPO) -> dict[str, Path]:
    """Path inside the bundle -> file in the working tree."""
    return {
        name.removeprefix(DAGS_FOLDER): repo / name
        for name in build_context.context_files(repo)
        if name.startswith(DAGS_FOLDER)
    }


def _present(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Key -> content SHA-256 recorded at upload ('' when unknown) of the objects under prefix."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            head = s3.head_object(Bucket=bucket, Key=item["Key"])
            found[item["Key"]] = head.get("Metadata", {}).get("sha256", "")
    return found


def sync(
    s3: Any,
    bucket: str,
    prefix: str,
    repo: Path = build_context.REPO,
    say: Callable[[str], None] = print,
) -> dict[str, list[str]]:
    """Upload what changed, delete what is gone (a removed DAG must go), touch nothing else."""
    wanted = {prefix + name: path for name, path in bundle_files(repo).items()}
    present = _present(s3, bucket, prefix)
    done: dict[str, list[str]] = {"uploaded": [], "deleted": [], "unchanged": []}
    for key, path in sorted(wanted.items()):
        sha256 = build_context.file_sha256(path)
        if present.get(key) == sha256:
            done["unchanged"].append(key)
            continue
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), Metadata={"sha256": sha256})
        done["uploaded"].append(key)
    stale = sorted(set(present) - set(wanted))
    if stale:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in stale]})
        done["deleted"] = stale
    say(
        f"  s3://{bucket}/{prefix}: {len(done['uploaded'])} uploaded, "
        f"{len(done['deleted'])} deleted, {len(done['unchanged'])} unchanged"
    )
    return done
