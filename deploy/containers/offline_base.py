"""Base images for the container tier and the rehearsal: the official ones, or offline stand-ins.

Docker Hub may be out of reach (it is on the project's build machines). Then the official
`apache/airflow` and `postgres` images are stood in for by images built here from Debian packages
(a debootstrap rootfs imported with `docker import`) and PyPI, following the official images'
documented contracts (the recipes: `offline_base/` and `offline_postgres/` beside this file).
Their tags carry a digest of the recipe, so they are rebuilt only when the recipe changes, and
never use an official name.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess  # noqa: S404 - fixed argv, never a shell
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deploy.containers.engine import Engine, apt_install, progress

HERE = Path(__file__).resolve().parent
OFFICIAL_AIRFLOW = "apache/airflow:3.3.2-python3.12"
OFFICIAL_POSTGRES = "postgres:17.6"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
ROOTFS_PACKAGES = (
    "python3", "python3-pip", "python3-venv", "ca-certificates", "curl", "dumb-init", "git",
    "openssh-client", "procps",
)  # fmt: skip
# The registry proxy of these machines re-signs TLS: builds and containers trust the host's
# bundle (it includes the public roots, so it also works where there is no proxy).
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
OFFLINE_PREFIX = "airflow-snowflake-fargate-offline"


@dataclass(frozen=True)
class BaseImages:
    airflow: str
    postgres: str
    offline: bool


def recipe_digest(recipe: str | None = None) -> str:
    """Digest of what an offline image is made from: the rootfs packages (and this file's
    version of them), plus the recipe folder's files for the images built on it."""
    digest = hashlib.sha256(f"{SUITE} {MIRROR} {' '.join(ROOTFS_PACKAGES)}".encode())
    if recipe:
        for path in sorted((HERE / recipe).iterdir()):
            if path.is_file():
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _pullable(engine: Engine, ref: str, say: Callable[[str], None]) -> bool:
    if engine.image_exists(ref):
        return True
    say(f"pulling {ref}")
    try:
        done = engine.docker("pull", "--quiet", ref, check=False, timeout=120)
    except subprocess.TimeoutExpired:
        say(f"  {ref}: no answer from the registry within 120 s")
        return False
    if done.returncode != 0:
        say(f"  {ref} cannot be pulled: {done.stderr.strip().splitlines()[-1:]}")
    return done.returncode == 0


def ensure(engine: Engine, state_dir: Path, say: Callable[[str], None] = progress) -> BaseImages:
    """The official base images if they can be had, else the offline stand-ins (built if new)."""
    if _pullable(engine, OFFICIAL_AIRFLOW, say) and _pullable(engine, OFFICIAL_POSTGRES, say):
        return BaseImages(OFFICIAL_AIRFLOW, OFFICIAL_POSTGRES, offline=False)
    rootfs = f"{OFFLINE_PREFIX}-rootfs:{SUITE}-{recipe_digest()}"
    airflow = f"{OFFLINE_PREFIX}-airflow:3.3.2-{recipe_digest('offline_base')}"
    postgres = f"{OFFLINE_PREFIX}-postgres:15-{recipe_digest('offline_postgres')}"
    if engine.image_exists(airflow) and engine.image_exists(postgres):
        say(f"offline base images {airflow}, {postgres}: up to date")
        return BaseImages(airflow, postgres, offline=True)
    if not engine.image_exists(rootfs):
        _import_rootfs(engine, rootfs, state_dir, say)
    for tag, recipe in ((airflow, "offline_base"), (postgres, "offline_postgres")):
        if not engine.image_exists(tag):
            say(f"building the offline base {tag} (recipe deploy/containers/{recipe}/)")
            engine.build(HERE / recipe, tag, say, build_args={"ROOTFS_IMAGE": rootfs})
    return BaseImages(airflow, postgres, offline=True)


def _import_rootfs(engine: Engine, tag: str, state_dir: Path, say: Callable[[str], None]) -> None:
    if not shutil.which("debootstrap"):
        apt_install(("debootstrap",), say)
    state_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=state_dir, prefix="rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        say(f"debootstrap {SUITE} ({len(ROOTFS_PACKAGES)} packages and their dependencies)")
        argv = [
            shutil.which("debootstrap") or "debootstrap", "--variant=minbase",
            f"--include={','.join(ROOTFS_PACKAGES)}",
            SUITE, str(root), MIRROR,
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"debootstrap failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
        shutil.copyfile(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        say(f"docker import {tag}")
        argv = [shutil.which("tar") or "tar", "-C", str(root), "-c", "."]
        tar = subprocess.Popen(argv, stdout=subprocess.PIPE)  # noqa: S603 - fixed argv
        engine.docker("import", "-", tag, stdin=tar.stdout)
        if tar.wait() != 0:
            raise RuntimeError("tar of the rootfs failed")
