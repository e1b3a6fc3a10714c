"""Environment of the local Airflow processes: LocalExecutor, PostgreSQL, the emulators.

DAG code never learns it is local: it sees the `snowflake_default` and `aws_default`
connections, which here point at the emulators.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from deploy.dag_delivery import CONFIG_ENV as DAG_BUNDLE_CONFIG_ENV
from local import alert_inbox, dags_repo, landing_events, metadata_db, shared_secrets
from local.settings import HOST, LANDING_BUCKET, REPO, Settings
from snowflake_pipeline.alerts import TOPIC_ENV
from snowflake_pipeline.events import QUEUE_URL_ENV

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def _shared_secrets(settings: Settings) -> dict[str, str]:
    """Fernet key, JWT secret (64 bytes) and API secret, generated once and kept 0600."""
    path = settings.state_dir / "secrets.json"
    if not path.exists():
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        shared_secrets.write_private(path, json.dumps(shared_secrets.generate()))
    return json.loads(path.read_text())


def _snowflake_key(settings: Settings) -> tuple[Path, str]:
    """An encrypted RSA key and its passphrase, generated once (0600): key-pair sign-in, as in AWS.

    The emulator accepts any credentials; real ones here let the tests prove that neither the key
    nor its passphrase ever reaches a log.
    """
    path = settings.state_dir / "snowflake_key.p8"
    secrets_path = settings.state_dir / "snowflake_key.passphrase"
    if not path.exists() or not secrets_path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        settings.state_dir.mkdir(parents=True, exist_ok=True)
        passphrase = secrets.token_urlsafe(24)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
        for target, content in ((path, pem), (secrets_path, passphrase.encode())):
            target.unlink(missing_ok=True)
            shared_secrets.write_private(target, content)
    return path, secrets_path.read_text()


def snowflake_params(settings: Settings) -> dict:
    """Connector parameters of the emulator (the local stack's `snowflake_default`)."""
    key_file, passphrase = _snowflake_key(settings)
    return {
        "user": "fake",
        "authenticator": "SNOWFLAKE_JWT",
        "private_key_file": str(key_file),
        "private_key_file_pwd": passphrase,
        "account": "fakesnow",
        "host": HOST,
        "port": settings.snowflake_port,
        "database": "raw",
        "warehouse": "etl_wh",
        "role": "etl",
        "login_timeout": 20,
        "network_timeout": 300,
    }


def snowflake_connection(settings: Settings) -> str:
    """Key-pair auth as `make deploy` writes it: PEM in the extra, its passphrase as password."""
    params = snowflake_params(settings)
    login, passphrase = params.pop("user"), params.pop("private_key_file_pwd")
    params.pop("authenticator")
    params["private_key_content"] = Path(params.pop("private_key_file")).read_text()
    return json.dumps(
        {"conn_type": "snowflake", "login": login, "password": passphrase, "extra": params}
    )


def connect_snowflake(settings: Settings):
    """A connector session on the emulator, without importing Airflow (fast, for reports)."""
    # The connector reads the CA bundle when it is imported, so set it first.
    os.environ["REQUESTS_CA_BUNDLE"] = str(settings.ca_bundle)
    import snowflake.connector

    return snowflake.connector.connect(**snowflake_params(settings))


def aws_connection(settings: Settings) -> str:
    return json.dumps(
        {
            "conn_type": "aws",
            "login": "local",
            "password": "local",
            "extra": {"endpoint_url": settings.s3_endpoint, "region_name": "us-east-1"},
        }
    )


def connection_env(settings: Settings) -> dict[str, str]:
    """What any process needs to reach the emulators the way Airflow does."""
    return {
        "AIRFLOW_CONN_SNOWFLAKE_DEFAULT": snowflake_connection(settings),
        "AIRFLOW_CONN_AWS_DEFAULT": aws_connection(settings),
        # The connector always speaks HTTPS; trust the local CA (SSL_CERT_FILE is not enough).
        "REQUESTS_CA_BUNDLE": str(settings.ca_bundle),
        "SNOWFLAKE_STAGE_URL": f"s3://{LANDING_BUCKET}/landing/",
        "SNOWFLAKE_STORAGE_ROLE_ARN": "arn:aws:iam::000000000000:role/local-snowflake-stage",
        # events: in the sources file: the queue the landing bucket notifies (local/landing_events)
        QUEUE_URL_ENV: landing_events.queue_url(settings.s3_endpoint),
        # failure alerts (snowflake_pipeline/alerts.py) to a moto topic (local/alert_inbox.py)
        TOPIC_ENV: alert_inbox.topic_arn(),
    }


def dbt_docs_dir(settings: Settings) -> Path:
    """Where `make dbt-docs` writes dbt's documentation site, which the UI serves."""
    return settings.state_dir / "dbt-docs"


def task_slot_settings() -> dict[str, str]:
    """How many tasks run at once, and how soon a finished one frees its slot."""
    return {
        # As compose and the cloud stacks' default: the analytics run's dbt build holds one
        # task slot while its model and test tasks follow it; with 3 slots they queued for the
        # other two and ended seconds after the build (README, "Why the watcher mode").
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("LOCAL_STACK_PARALLELISM", "4"),
        # as the image (see the Dockerfile): within 1 s, not 5
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
    }


def airflow_env(settings: Settings) -> dict[str, str]:
    home = settings.airflow_home
    shared = _shared_secrets(settings)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "SNOWFLAKE_", "LOCAL_STACK_"))
    }
    env.update(connection_env(settings))
    env.update(dags_repo.connection_env(settings))
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "airflow" / "dags"),
            # The working tree's DAG folder, or a git repository (make run DAGS_FROM=git); the
            # same rendering as the deployments' DagDelivery (deploy/dag_delivery.py).
            DAG_BUNDLE_CONFIG_ENV: dags_repo.bundle_config(settings),
            # The bundles' clones and checked-out versions, per stack (the default, a folder in
            # /tmp, would be shared by every stack on the machine)
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(home / "dag_bundles"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "airflow" / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            **task_slot_settings(),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db.url(settings),
            **{var: shared[name] for name, var in shared_secrets.AIRFLOW_ENV.items()},
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(settings.api_port),
            "AIRFLOW__API__BASE_URL": f"http://localhost:{settings.api_port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{settings.api_url}/execution/",
            # The local stack only: everyone is admin, no sign-in. Never in the image or cloud.
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            # Airflow's default: a DAG file edited is parsed at once anyway (its mtime), and where
            # we wait for a change of what it reads, we ask for the parse (stack.wait_for_dags).
            # Every 10 s, an idle stack spent a third of its CPU re-parsing the same two files.
            # With the DAGs from git it stays 10 s: a fetched commit's files waited for this
            # interval (test_git_bundle's commit scenarios took 19-28 s longer at 30 s).
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": (
                "10" if settings.dags_from == "git" else "30"
            ),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "300",
            # Recover fast locally from a killed scheduler or task: a task whose process died is
            # failed (and retried) after 30 s without heartbeat instead of 5 minutes.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
            "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "15",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # Cosmos and dbt send usage telemetry unless told not to
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            # see the Dockerfile: the build is never retried, its XCom backup is never read
            "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
            # Cosmos keeps dbt's partial-parse file of the last build here, so the next build
            # does not parse the project again (5-8 s here). Its default, /tmp/cosmos, is shared
            # by every stack on the machine, and the file is only valid for the profile (host,
            # port) it was parsed with: each stack keeps its own.
            "AIRFLOW__COSMOS__CACHE_DIR": str(settings.state_dir / "cosmos"),
            "DO_NOT_TRACK": "1",
            # as the image (see the Dockerfile): no probe of the cloud platform at each login
            "SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
            # The UI's "dbt docs (analytics)" view (Cosmos's plugin) serves what `make dbt-docs`
            # generates there.
            "AIRFLOW__COSMOS__DBT_DOCS_PROJECTS": json.dumps(
                {"analytics": {"dir": str(dbt_docs_dir(settings)), "name": "dbt docs (analytics)"}}
            ),
            "PYTHONUNBUFFERED": "1",
            # airflow_local_settings.py: preloads the Snowflake connector in the scheduler.
            "PYTHONPATH": str(REPO / "airflow" / "config"),
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    return env


# Airflow's [core] min_serialized_dag_update_interval (30 s) does two things: the dag-processor
# does not store a DAG written less than 30 s before (while the parse counts as done, so an edit
# of the sources file made soon after the last left the old tasks in force and in the UI until a
# later parse), and whatever reads DAGs trusts its cached copy of a DAG version for 30 s. So the
# dag-processor stores each change at once and the api-server (what `make run` and the UI read)
# checks its copy at each read. The scheduler and the triggerer keep 30 s: at 0 their loops
# re-checked every DAG they touched, 7 CPU-seconds a minute more on an idle stack.
_COMPONENT_ENV = {
    "dag-processor": {"AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0"},
    "api-server": {"AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0"},
}


def component_env(component: str) -> dict[str, str]:
    """What one component's environment adds to airflow_env()."""
    return _COMPONENT_ENV.get(component, {})


def component_argv(component: str, settings: Settings) -> list[str]:
    airflow = [sys.executable, "-m", "airflow"]
    if component == "api-server":
        return [*airflow, "api-server", "--host", HOST, "--port", str(settings.api_port)]
    if component in ("scheduler", "triggerer"):
        # Task logs are local files the api-server reads; no log-serving sidecar needed.
        return [*airflow, component, "--skip-serve-logs"]
    return [*airflow, component]
