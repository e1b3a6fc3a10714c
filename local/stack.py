"""Start, check and stop the whole local stack: moto S3, fakesnow over TLS, four Airflow processes.

`make run`, the end-to-end tests and the benchmarks all go through `up()` and `down()`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from local import alert_inbox, dags_repo, dbt, landing_events, metadata_db, processes
from local.airflow_api import AirflowAPI
from local.airflow_env import (
    COMPONENTS,
    airflow_env,
    component_argv,
    component_env,
    connect_snowflake,
    connection_env,
)
from local.settings import HOST, LANDING_BUCKET, REPO, Settings
from local.tls import ensure_certificates

EMULATORS = ("s3", "snowflake")
# The servers Airflow stands on: the emulators and its metadata DB; stopped after Airflow.
SERVICES = (*EMULATORS, metadata_db.NAME)
DAG_IDS = ("snowflake_raw", "snowflake_analytics")
# wait_for_dags asks again for a parse that has not come within this many seconds
REPARSE_AGAIN_SECONDS = 15


def _emulator_argv(name: str, settings: Settings) -> list[str]:
    if name == "s3":
        return [sys.executable, "-m", "local", "serve-s3", "--port", str(settings.s3_port)]
    return [
        sys.executable,
        "-m",
        "local",
        "serve-snowflake",
        "--port",
        str(settings.snowflake_port),
        "--s3-endpoint",
        settings.s3_endpoint,
    ]


def _emulator_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["LOCAL_STACK_DIR"] = str(settings.state_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def start_services(settings: Settings, echo=print) -> None:
    """Start the emulators and PostgreSQL where not running, side by side, then wait for them."""
    db_pid = metadata_db.start(settings)
    start_emulators(settings, echo)
    # The queue exists before the triggerer polls it; the bucket notifies it once the samples
    # have landed (prepare_data).
    landing_events.create_queue(settings.s3_endpoint)
    alert_inbox.ensure(settings.s3_endpoint)
    metadata_db.wait_ready(settings)
    state = f"started (pid {db_pid})" if db_pid else "already running"
    echo(f"  {metadata_db.NAME:<14} {state} on {HOST}:{settings.postgres_port} (metadata DB)")


def start_emulators(settings: Settings, echo=print) -> None:
    """Start moto S3 and fakesnow over TLS where not running, then wait for them (the dbt tests
    need these two only)."""
    ensure_certificates(settings.tls_dir)
    started = []
    for name, port in (("s3", settings.s3_port), ("snowflake", settings.snowflake_port)):
        if pid := processes.running_pid(settings, name):
            echo(f"  {name:<14} already running (pid {pid})")
            continue
        if processes.port_open(port):
            raise RuntimeError(
                f"port {port} on {HOST} is taken by another program; "
                f"set LOCAL_STACK_{name.upper()}_PORT to a free port"
            )
        pid = processes.start(
            settings, name, _emulator_argv(name, settings), _emulator_env(settings)
        )
        started.append((name, port, pid))
    for name, port, pid in started:
        processes.wait_until(
            lambda port=port: processes.port_open(port),
            60,
            f"the {name} emulator",
            settings.log_dir / f"{name}.log",
        )
        echo(f"  {name:<14} started (pid {pid}) on {HOST}:{port}")


def s3_client(settings: Settings):
    """A boto3 client of the stack's S3 emulator."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts anything
        region_name="us-east-1",
    )


def prepare_data(settings: Settings, echo=print) -> None:
    """Create the landing bucket, land the samples and apply the Snowflake setup (idempotent)."""
    from local import samples
    from snowflake_pipeline import account_setup

    s3 = s3_client(settings)
    counts = samples.land(s3, LANDING_BUCKET, echo=echo)
    echo(f"  sample files: {counts['uploaded']} landed, {counts['present']} already there")
    # After the samples, so that `make run`'s own run loads them; whether the DAG listens to the
    # queue is the sources file's choice (events:), as on AWS, where the stack always creates it.
    landing_events.ensure(settings.s3_endpoint, samples.LANDING_PREFIX, echo)
    # Re-applying is safe but costs seconds; skip it while the same emulator process already has
    # exactly these files applied (a restarted emulator forgets its stages, so it gets them again).
    stamp = settings.state_dir / "snowflake-setup.applied"
    fingerprint = account_setup.fingerprint(processes.process_identity(settings, "snowflake") or "")
    if stamp.exists() and stamp.read_text() == fingerprint:
        echo("  Snowflake setup: unchanged since the last apply to this emulator")
        return
    # The emulator's own connection, without importing Airflow while Airflow boots beside us;
    # `make snowflake-setup` applies the same statements through Airflow's snowflake_default.
    variables = account_setup.variables_from_env(connection_env(settings))
    with closing(connect_snowflake(settings)) as conn:
        ran = account_setup.apply(conn, variables, echo=lambda _line: None)
    stamp.write_text(fingerprint)
    echo(f"  Snowflake setup: {ran} statements from sql/ and sources.yml applied")


def migrate(settings: Settings, echo=print) -> None:
    env = airflow_env(settings)
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    # Kept in the cluster's folder: a new cluster is migrated again.
    stamp = metadata_db.data_dir(settings) / "airflow-migrated"
    if stamp.exists():
        return
    echo("  migrating the Airflow metadata DB (first run only)")
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-2000:]}{result.stderr}")
    stamp.touch()


def _dags_from_file(settings: Settings) -> Path:
    return settings.airflow_home / "dags-from"


def started_dags_from(settings: Settings) -> str:
    """Where the Airflow processes last started read their DAGs ('folder' or 'git')."""
    recorded = _dags_from_file(settings)
    return recorded.read_text() if recorded.exists() else "folder"


def _check_dags_from(settings: Settings) -> None:
    """Running components keep the DAG source they started with: a switch needs `make stop`."""
    running = [c for c in COMPONENTS if processes.running_pid(settings, c)]
    started_with = started_dags_from(settings)
    if running and started_with != settings.dags_from:
        raise RuntimeError(
            f"the running Airflow processes ({', '.join(running)}) read their DAGs from "
            f"{started_with!r}, this run asks for {settings.dags_from!r} (DAGS_FROM / "
            "LOCAL_STACK_DAGS_FROM): `make stop` first, then `make run` with the one you want"
        )


def start_airflow(settings: Settings, echo=print) -> None:
    """Start the Airflow components that are not running; `wait_for_airflow` waits for them."""
    _check_dags_from(settings)
    if settings.dags_from == "git":
        dags_repo.ensure(settings, echo)
    migrate(settings, echo)
    env = airflow_env(settings)
    _dags_from_file(settings).write_text(settings.dags_from)
    for component in COMPONENTS:
        pid = processes.running_pid(settings, component)
        if pid:
            echo(f"  {component:<14} already running (pid {pid})")
            continue
        if component == "api-server" and processes.port_open(settings.api_port):
            raise RuntimeError(
                f"port {settings.api_port} is taken by another program; "
                "set LOCAL_STACK_API_PORT to a free port"
            )
        argv = component_argv(component, settings)
        pid = processes.start(settings, component, argv, {**env, **component_env(component)})
        echo(f"  {component:<14} started (pid {pid})")


def wait_for_airflow(settings: Settings) -> AirflowAPI:
    api = AirflowAPI(settings.api_url)
    processes.wait_until(
        api.healthy, 120, "the Airflow api-server", settings.log_dir / "api-server.log"
    )
    return api


def _config_changed_at() -> datetime:
    """When the DAG files or what they read (config, the sources file, the dbt manifest) last
    changed."""
    from snowflake_pipeline.config import DAGS_DIR, sources_file
    from snowflake_pipeline.dbt_project import manifest_path

    files = [p for p in DAGS_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    newest = max(p.stat().st_mtime for p in [*files, sources_file(), manifest_path()])
    return datetime.fromtimestamp(newest, UTC)


def _parsed_at(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp) if stamp else None


def _parse_started_at(dag: dict) -> datetime | None:
    """When the dag-processor's last parse of the DAG's file began, at the latest. Airflow stamps
    last_parsed_time when it stores the result, after the parse: a parse that had read the old
    file before it changed can be stored after the change, so that stamp alone proves nothing."""
    stored = _parsed_at(dag.get("last_parsed_time"))
    if stored is None:
        return None
    return stored - timedelta(seconds=dag.get("last_parse_duration") or 0)


def request_parses(api: AirflowAPI, dag_ids: tuple[str, ...]) -> None:
    """Ask the dag-processor to parse these DAGs' files next (those it knows)."""
    for dag_id in dag_ids:
        dag = api.dag(dag_id)
        if dag:
            api.request_parse(dag)


def wait_for_dags(api: AirflowAPI, dag_ids: tuple[str, ...], settings: Settings) -> None:
    """Wait until the dag-processor has parsed our DAGs since their files last changed; fail on an
    import error of such a parse (an older one is about files that have been fixed since). A DAG
    parsed before the change is asked for a parse at once, and again if none comes: a change to
    the sources file (which the dag-processor does not watch) then takes a second or two, not up to
    its min_file_process_interval."""
    changed_at = _config_changed_at()
    asked: dict[str, float] = {}

    def parsed() -> bool:
        dags = {dag_id: api.dag(dag_id) for dag_id in dag_ids}
        # An error has no parse duration of its own: its file's last good parse stands in for it.
        took = {
            dag_id: timedelta(seconds=(dag or {}).get("last_parse_duration") or 0)
            for dag_id, dag in dags.items()
        }
        fresh_errors = [
            e
            for e in api.import_errors()
            if Path(e["filename"]).stem in dag_ids
            and (_parsed_at(e["timestamp"]) or changed_at) - took[Path(e["filename"]).stem]
            >= changed_at
        ]
        if fresh_errors:
            detail = "\n".join(f"{e['filename']}:\n{e['stack_trace']}" for e in fresh_errors)
            raise RuntimeError(f"DAG import errors:\n{detail}")
        stale = {
            dag_id: dag
            for dag_id, dag in dags.items()
            if not dag or (_parse_started_at(dag) or changed_at) < changed_at
        }
        for dag_id, dag in stale.items():
            if dag and time.monotonic() - asked.get(dag_id, -REPARSE_AGAIN_SECONDS) >= (
                REPARSE_AGAIN_SECONDS
            ):
                api.request_parse(dag)
                asked[dag_id] = time.monotonic()
        return not stale

    # Nothing is unpaused here: the stack creates DAGs unpaused (AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_
    # CREATION), so a paused DAG is one somebody paused, and `make run` leaves that pause be.
    processes.wait_until(
        parsed,
        120,
        "a parse of the DAGs newer than their files",
        settings.log_dir / "dag-processor.log",
    )


def ensure_running(settings: Settings) -> None:
    """Raise, naming the process and its log, if a stack process `up()` started has died."""
    for name, pid in status(settings).items():
        if pid is None:
            raise StackProcessDied(
                f"the stack's {name} process is not running any more; its log: "
                f"{settings.log_dir / (name + '.log')}. Run `make run` again: it restarts what is "
                "not running and follows a new run."
            )


class StackProcessDied(RuntimeError):
    pass


def up(settings: Settings, echo=print) -> AirflowAPI:
    """Start what is not running and prepare the data; Airflow boots while the data is landed."""
    steps = [
        # the manifest Cosmos renders snowflake_analytics from, before the dag-processor parses it
        ("dbt manifest", lambda: dbt.build_manifest(echo)),
        ("emulators and PostgreSQL", lambda: start_services(settings, echo)),
        ("airflow", lambda: start_airflow(settings, echo)),
        ("sample data and Snowflake setup", lambda: prepare_data(settings, echo)),
        ("api-server healthy", lambda: wait_for_airflow(settings)),
        ("DAGs parsed", lambda: wait_for_dags(AirflowAPI(settings.api_url), DAG_IDS, settings)),
    ]
    for name, step in steps:
        started = time.monotonic()
        step()
        echo(f"  .. {name}: {time.monotonic() - started:.1f} s")
    return AirflowAPI(settings.api_url)


def down(settings: Settings, echo=print) -> int:
    stopped = 0
    for name in (*reversed(COMPONENTS), *reversed(SERVICES)):
        pid = processes.running_pid(settings, name)
        if processes.stop(settings, name):
            stopped += 1
            echo(f"  stopped {name} (pid {pid})")
    return stopped


def status(settings: Settings) -> dict[str, int | None]:
    return {name: processes.running_pid(settings, name) for name in (*SERVICES, *COMPONENTS)}
