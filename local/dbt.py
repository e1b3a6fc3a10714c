"""`make dbt ARGS="build -s flights+"`: the dbt CLI against the local stack's Snowflake emulator.

The profile is the one a DAG gets: Cosmos's mapping of `snowflake_default` (here the local
stack's key-pair connection to fakesnow over TLS), written without secrets to the state folder;
the key and its passphrase reach dbt as environment variables only. Telemetry is off: dbt's
(DO_NOT_TRACK, and send_anonymous_usage_stats in dbt_project.yml) and Cosmos's.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from local import processes
from local.airflow_env import connection_env
from local.settings import Settings

TARGET_NAME = "local"
NO_TELEMETRY = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
}


class StackNotRunning(RuntimeError):
    pass


def profiles_dir(settings: Settings) -> Path:
    return settings.state_dir / "dbt"


def dbt_env(settings: Settings) -> dict[str, str]:
    """The environment of a dbt process on the local stack; writes its profiles.yml.

    Cosmos reads the connection through Airflow in this process (the stack's
    AIRFLOW_CONN_SNOWFLAKE_DEFAULT, set for the call only): importing Airflow and Cosmos costs
    seconds, once per command."""
    from snowflake_pipeline.config import load_config
    from snowflake_pipeline.dbt_project import profile_mapping, profile_name

    connection = connection_env(settings)
    lookup = {
        "AIRFLOW_CONN_SNOWFLAKE_DEFAULT": connection["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"],
        "AIRFLOW_HOME": os.environ.get("AIRFLOW_HOME") or str(settings.airflow_home),
    }
    saved = {key: os.environ.get(key) for key in lookup}
    os.environ.update(lookup)
    try:
        mapping = profile_mapping(load_config())
        profile = mapping.get_profile_file_contents(profile_name(), TARGET_NAME)
        secrets = mapping.env_vars
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    folder = profiles_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(profile)  # no secrets: env_var() references
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SNOWFLAKE_"))}
    return {
        **env,
        # the connector trusts the emulator's CA (SSL_CERT_FILE is not enough)
        "REQUESTS_CA_BUNDLE": connection["REQUESTS_CA_BUNDLE"],
        **NO_TELEMETRY,
        **secrets,
        "DBT_PROFILES_DIR": str(folder),
    }


def target_dir(settings: Settings) -> Path:
    """Where `make dbt` leaves dbt's output: .local/dbt/target."""
    return profiles_dir(settings) / "target"


def dbt_executable() -> str:
    """The dbt CLI of this interpreter's environment (the .venv's)."""
    return str(Path(sys.executable).parent / "dbt")


def run(
    settings: Settings, args: list[str], env: dict[str, str] | None = None, **popen
) -> subprocess.CompletedProcess:
    """Run `dbt ARGS` on the project (dbt/) against the stack's emulator, which must be running.
    `env`: a `dbt_env` made before (it costs seconds), plus e.g. DBT_TARGET_PATH."""
    from snowflake_pipeline.dbt_project import PROJECT_DIR

    if not processes.running_pid(settings, "snowflake"):
        raise StackNotRunning(
            f"the Snowflake emulator of {settings.state_dir} is not running: `make run` first"
        )
    env = {
        "DBT_PROJECT_DIR": str(PROJECT_DIR),
        # dbt's output (run_results.json, its own manifest) beside the stack's state, never over
        # dbt/target/manifest.json, which the dag-processor reads while this runs
        "DBT_TARGET_PATH": str(target_dir(settings)),
        **(env or dbt_env(settings)),
    }
    return subprocess.run(  # noqa: S603 - our own dbt, the caller's arguments
        [dbt_executable(), *args], env=env, check=False, **popen
    )


def _project_files(project_dir: Path) -> list[Path]:
    """What the manifest is built from: the project's files, not dbt's own output."""
    skip = {"target", "logs", "dbt_packages"}
    return [
        p
        for p in project_dir.rglob("*")
        if p.is_file() and not skip.intersection(p.relative_to(project_dir).parts)
    ]


def manifest_is_current(project_dir: Path | None = None) -> bool:
    from snowflake_pipeline.dbt_project import PROJECT_DIR, manifest_path

    project_dir = project_dir or PROJECT_DIR
    manifest = manifest_path(project_dir)
    if not manifest.is_file():
        return False
    built = manifest.stat().st_mtime
    return all(p.stat().st_mtime <= built for p in _project_files(project_dir))


def build_manifest(echo=print, force: bool = False) -> bool:
    """`dbt parse` of the project into dbt/target/manifest.json, as the image build does: the
    parse-only profile (dbt parse never connects), telemetry off. Skipped while the manifest is
    newer than every file of the project. Returns whether it ran; raises when dbt fails.

    One build at a time (two end-to-end lanes start their stacks together), and the manifest
    is replaced whole: a dag-processor never reads one half written."""
    from snowflake_pipeline.dbt_project import PARSE_PROFILES_DIR, PROJECT_DIR, manifest_path

    manifest = manifest_path()
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not force and manifest_is_current():
            return False
        with tempfile.TemporaryDirectory(dir=manifest.parent, prefix=".parse-") as target:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("DBT_")},
                **NO_TELEMETRY,
                "DBT_PROFILES_DIR": str(PROJECT_DIR / PARSE_PROFILES_DIR),
                "DBT_PROJECT_DIR": str(PROJECT_DIR),
                "DBT_TARGET_PATH": target,
            }
            done = subprocess.run(  # noqa: S603 - our own dbt, fixed arguments
                [dbt_executable(), "parse", "--no-partial-parse", "--quiet"],
                env=env,
                cwd=PROJECT_DIR,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(
                    f"dbt parse of {PROJECT_DIR} failed (exit {done.returncode}):\n"
                    f"{done.stdout}{done.stderr}"
                )
            os.replace(Path(target, manifest.name), manifest)
    echo(f"  dbt manifest built: {manifest}")
    return True
