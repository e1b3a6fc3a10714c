"""`make rehearse`: the rendered task definitions of one profile run as ECS would run them.

On one Docker network per profile: a moto server as AWS (IAM access control on), a Postgres
standing in for RDS and fakesnow for Snowflake; in moto, what `make deploy` creates before the
stacks (by its own code) and what the stacks would create. Then the migration task, every
service's task, a pipeline run through the api-server, CloudWatch logs, a soak and a stop.
Each step is a row of the profile's table; the first failure ends the profile, naming the
container and its log line.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess  # noqa: S404 - only its TimeoutExpired
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deploy import airflow_secrets, orchestrate, templates
from deploy import inputs as inputs_mod
from deploy.containers import compose, offline_base
from deploy.containers import engine as engine_mod
from deploy.containers.compose import Images
from deploy.containers.engine import Engine, progress
from deploy.dag_delivery import BUNDLE_NAMES
from deploy.rehearsal import VARIANTS, aws
from deploy.rehearsal.agent import (
    Rehearsal,
    Task,
    TaskFailed,
    TaskRunner,
    health_argv,
    inspect,
    last_lines,
)
from deploy.rehearsal.ecs_agent import EcsAgent
from deploy.rehearsal.intrinsics import Resolver, World
from local import git_server

MOTO_PORT = 5000
MOTO_SERVER = Path(__file__).with_name("moto_server.py")  # moto with ECS as the executor needs
MOTO_SERVER_IN_CONTAINER = "/opt/airflow/rehearsal_moto_server.py"
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 # nosec B104 - inside a container, on the rehearsal network
AWS_ALIAS = "aws"  # the stand-in address of every AWS endpoint
SNOWFLAKE_ACCOUNT = "rehearsal-account"
SNOWFLAKE_HOST = f"{SNOWFLAKE_ACCOUNT}.snowflakecomputing.com"  # where the connector goes
TLS_DIR = "/opt/airflow/.local/tls"  # the dev image's local.settings TLS folder
CA_BUNDLE = f"{TLS_DIR}/ca.pem"
# dev-git: the git host's stand-in (local/git_server.py) and the CA it signs its certificate with
GIT_HOST = "git.rehearsal.example"
GIT_CA_BUNDLE = f"{TLS_DIR}/git/ca.pem"
GIT_REPOSITORY_DIR = f"/opt/airflow/.local/git-server/{git_server.REPOSITORY}"
GIT_REFRESH_SECONDS = 10
ALLOWED_CIDR = "203.0.113.7/32"
EXTERNAL_ID = "rehearsal-external-id"
CERTIFICATE_ARN = f"arn:aws:acm:{aws.REGION}:{aws.ACCOUNT}:certificate/rehearsal"
# subscribed to the alerts topic as `make deploy` would with DEPLOY_ALERT_EMAIL (moto sends nothing)
ALERT_EMAIL = "alerts@rehearsal.invalid"
LOAD_BALANCER_DNS = f"rehearsal-alb-1234567890.{aws.REGION}.elb.amazonaws.com"
PIPELINE_TIMEOUT = 1200
# how often the rehearsal runs a starting container's health check itself (Docker: every Interval)
HEALTH_POLL_SECONDS = 3
# The only settings a container gets that the task definition does not give it.
REHEARSAL_ONLY_ENV = {
    "AWS_ENDPOINT_URL": f"http://{AWS_ALIAS}:{MOTO_PORT}",
    "REQUESTS_CA_BUNDLE": CA_BUNDLE,
    # a git host's certificate: a public CA's on AWS, the stand-in's here (dev-git)
    "GIT_SSL_CAINFO": GIT_CA_BUNDLE,
}


@dataclass
class Check:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class ProfileResult:
    profile: str
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


class Note:
    """What a passing check reports in its row."""

    text = ""


class ProfileRehearsal:
    def __init__(
        self,
        engine: Engine,
        images: Images,
        postgres_image: str,
        variant: str,
        work_dir: Path,
        soak_seconds: float,
        say: Callable[[str], None] = print,
    ):
        self.engine, self.images, self.postgres_image = engine, images, postgres_image
        self.variant = variant
        chosen = VARIANTS[variant]
        self.profile, self.executor = chosen.profile, chosen.executor
        self.dag_delivery, self.git_over_ssh = chosen.dag_delivery, chosen.git_over_ssh
        self.git_token = self.git_client_key = self.git_host_key = ""
        if self.dag_delivery == "git-bundle" and self.git_over_ssh:
            # the connection's key (its public half authorized on the host), the host's own key
            self.git_client_key, self.git_authorized_key = git_server.new_key_pair()
            self.git_host_key = git_server.new_key_pair()[0]
        elif self.dag_delivery == "git-bundle":
            self.git_token = secrets.token_urlsafe(32)
        self.work_dir, self.soak_seconds, self.say = work_dir, soak_seconds, say
        self.project = f"rehearsal-{variant}-{uuid.uuid4().hex[:6]}"
        self.environment_name = f"rh-{variant}"
        self.result = ProfileResult(variant)
        self.ecs_agent: EcsAgent | None = None
        self.containers: list[str] = []
        self.runners: list[TaskRunner] = []
        self.tls_volume = f"{self.project}-tls"

    # --- the table -------------------------------------------------------------------------
    @contextmanager
    def check(self, name: str) -> Iterator[Note]:
        self.say(f"--> [{self.variant}] {name}")
        note, started = Note(), time.monotonic()
        try:
            yield note
        except Exception as error:
            self.result.checks.append(Check(name, False, time.monotonic() - started, str(error)))
            raise
        self.result.checks.append(Check(name, True, time.monotonic() - started, note.text))

    def run(self) -> ProfileResult:
        try:
            self._steps()
        except Exception as error:  # noqa: BLE001 - reported in the table, the profile ends
            self.say(f"!! [{self.variant}] {error}")
        finally:
            self._clean_up()
        return self.result

    # --- the steps ---------------------------------------------------------------------------
    def _steps(self) -> None:
        with self.check("AWS on moto (IAM access control on)") as note:
            self._start_aws()
            note.text = f"{self.host_endpoint}, admin user via the first 3 unsigned calls"
        with self.check("make deploy's secrets and parameters (its own code)") as note:
            self._deploy_inputs()
            note.text = f"{airflow_secrets.core_secret_name(self.environment_name)}, SSM conn"
        with self.check("stack resources on moto (roles, logs, secrets, queues, topic)") as note:
            self._stack_resources()
            note.text = (
                f"{len(self.roles)} roles, {len(self.log_groups)} log groups, "
                f"{len(self.secrets)} generated secrets, the bucket's event queue, "
                "the alerts topic"
            )
        with self.check("stand-ins: Postgres (RDS), fakesnow (Snowflake), landed samples"):
            self._stand_ins()
        with self.check("migration task exits 0, once") as note:
            note.text = self._migrate()
        with self.check("services healthy within their grace period") as note:
            note.text = self._start_services()
        with self.check("pipeline triggered through the api-server") as note:
            note.text = self._pipeline()
        if self.ecs_agent:
            with self.check("ECS executor: each Airflow task ran as a worker task") as note:
                note.text = self._worker_tasks()
        if self.dag_delivery == "git-bundle":
            credential = "key" if self.git_over_ssh else "token"
            with self.check(f"DAGs from the git host with the connection's {credential}") as note:
                note.text = self._dags_from_git()
        with self.check("figures read back from Snowflake") as note:
            note.text = self._figures()
        with self.check("a landed file starts snowflake_raw through the event queue") as note:
            note.text = self._event_run()
        with self.check("task and component logs in CloudWatch (moto)") as note:
            note.text = self._logs()
        with self.check(f"soak {self.soak_seconds:.0f} s: healthy under the task limits") as note:
            note.text = self._soak()
        with self.check("stop within StopTimeout, no task stuck") as note:
            note.text = self._stop()

    def _start_aws(self) -> None:
        engine = self.engine
        engine.docker("network", "create", self.project)
        self.network_created = True
        moto = self._container("aws")
        engine.docker(
            "create", "--name", moto, "--network", self.project,
            "--network-alias", AWS_ALIAS, "--publish", f"127.0.0.1::{MOTO_PORT}",
            "--env", f"INITIAL_NO_AUTH_ACTION_COUNT={aws.BOOTSTRAP_CALLS}",
            "--env", "MOTO_IAM_LOAD_MANAGED_POLICIES=true",
            "--entrypoint", "python", self.images.dev,
            MOTO_SERVER_IN_CONTAINER, "-H", ANY_ADDRESS, "-p", str(MOTO_PORT),
        )  # fmt: skip
        engine.docker("cp", str(MOTO_SERVER), f"{moto}:{MOTO_SERVER_IN_CONTAINER}")
        engine.docker("start", moto)
        # Ready once it listens inside (the published port accepts before that): never an API
        # call, which would spend one of the unsigned ones.
        probe = _ready(MOTO_PORT)
        self._wait(lambda: self._exec_ok(moto, *probe), 60, f"{moto} listening")
        self.host_endpoint = f"http://{_published(engine, moto, MOTO_PORT)}"
        self.admin = aws.bootstrap_admin(self.host_endpoint)

    def _deploy_inputs(self) -> None:
        key_file = self.work_dir / "snowflake_key.p8"
        key_file.write_text(_private_key_pem())
        key_file.chmod(0o600)
        self.image_uri = (
            f"{aws.ACCOUNT}.dkr.ecr.{aws.REGION}.amazonaws.com/"
            f"{self.environment_name}/airflow:rehearsal"
        )
        self.engine.docker("tag", self.images.runtime, self.image_uri)
        self.inputs = inputs_mod.collect(
            {"profile": self.profile},
            {
                "AWS_REGION": aws.REGION,
                "DEPLOY_ENVIRONMENT_NAME": self.environment_name,
                "DEPLOY_ALLOWED_CIDR": ALLOWED_CIDR,
                "DEPLOY_ALERT_EMAIL": ALERT_EMAIL,
                "SNOWFLAKE_ACCOUNT": SNOWFLAKE_ACCOUNT,
                "SNOWFLAKE_USER": "AIRFLOW",
                "SNOWFLAKE_PRIVATE_KEY_FILE": str(key_file),
                "DEPLOY_IMAGE_URI": self.image_uri,
                **self._git_inputs(),
            },
        )
        self.core_secret_arn = aws.create_deploy_secrets(
            self.host_endpoint, self.admin, self.inputs
        )

    def _git_inputs(self) -> dict[str, str]:
        """dev-git: the inputs of DagDelivery=git-bundle, with the connection's secret created
        as a user creates it (docs/deploy.md, "DAGs from git")."""
        if self.dag_delivery != "git-bundle":
            return {}
        sm = aws.client("secretsmanager", self.host_endpoint, self.admin)
        if self.git_over_ssh:
            extra = {"private_key": self.git_client_key, "strict_host_key_checking": "yes"}
            connection: dict = {"conn_type": "git", "extra": extra}
            # what `ssh-keyscan git.rehearsal.example` would print, from the key the host gets
            _, known_hosts = git_server.ensure_host_key(
                self.work_dir / "git-host-key", (GIT_HOST,), 22, self.git_host_key
            )
            url = f"ssh://git@{GIT_HOST}/{git_server.REPOSITORY}"
            transport = {"DEPLOY_GIT_SSH_KNOWN_HOSTS": known_hosts.read_text()}
        else:
            connection = {"conn_type": "git", "login": "x-access-token", "password": self.git_token}
            url, transport = f"https://{GIT_HOST}/{git_server.REPOSITORY}", {}
        self.git_secret_arn = sm.create_secret(
            Name=f"{self.environment_name}/git-connection", SecretString=json.dumps(connection)
        )["ARN"]
        self.git_connection, self.git_url = connection, url
        return {
            "DEPLOY_DAG_DELIVERY": "git-bundle",
            "DEPLOY_GIT_REPO_URL": url,
            "DEPLOY_GIT_REF": "main",
            "DEPLOY_GIT_REFRESH_INTERVAL": str(GIT_REFRESH_SECONDS),
            "DEPLOY_GIT_CONNECTION_SECRET_ARN": self.git_secret_arn,
            **transport,
        }

    def _stack_resources(self) -> None:
        env_name, endpoint, admin = self.environment_name, self.host_endpoint, self.admin
        # Step 2 of the Snowflake trust (docs/deploy.md): the integration's IAM user and external
        # id; the rehearsal's admin stands in for Snowflake's user and assumes the role with it.
        trust = {"SnowflakeIamUserArn": aws.ADMIN_ARN, "SnowflakeExternalId": EXTERNAL_ID}
        storage = templates.Rendered(
            templates.load("storage"), orchestrate.storage_parameters(self.inputs, trust)
        )
        self.storage_outputs, exports = aws.create_storage_stack(endpoint, admin, storage, env_name)
        exports.update(aws.create_network(endpoint, admin, env_name))
        # prod as `make deploy` wants it: HTTPS on the load balancer (not rehearsed itself)
        certificate = CERTIFICATE_ARN if self.profile == "prod" else ""
        parameters = orchestrate.airflow_parameters(
            self.inputs, self.core_secret_arn, self.image_uri, 1, certificate
        )
        parameters["Executor"] = self.executor
        self.airflow = templates.Rendered(templates.load("airflow"), parameters)
        self.world = World(aws.pseudo_parameters(f"{env_name}-airflow"), exports=exports)
        self.resolver = Resolver(self.airflow, self.world)
        resources = self.airflow.resources
        self.secrets = aws.create_generated_secrets(
            endpoint, admin, self.resolver, resources, self.world
        )
        sm = aws.client("secretsmanager", endpoint, admin)
        database = resources["Database"]["Properties"]
        identifier = self.resolver.resolve(database["DBInstanceIdentifier"])
        self.db_host = f"{identifier}.rehearsal.{aws.REGION}.rds.amazonaws.com"
        self.db_user, self.db_password, self.db_name = (
            aws.resolve_dynamic_references(sm, self.resolver.resolve(database[key]))
            for key in ("MasterUsername", "MasterUserPassword", "DBName")
        )
        self.world.attributes.update(
            {
                "Database.Endpoint.Address": self.db_host,
                "Database.Endpoint.Port": "5432",
                "LoadBalancer.DNSName": LOAD_BALANCER_DNS,
            }
        )
        self.log_groups = aws.create_log_groups(
            endpoint, admin, self.resolver, resources, self.world
        )
        # before the roles: the callback roles' policies name the topic and its key
        self.alert_topics = aws.create_alerts(endpoint, admin, self.resolver, resources, self.world)
        self.roles = aws.create_roles(endpoint, admin, self.resolver, resources, self.world)
        vpc = exports[f"{env_name}-VpcId"]
        aws.create_security_groups(endpoint, admin, self.resolver, resources, vpc, self.world)
        for logical, resource in resources.items():
            if resource["Type"] == "AWS::ECS::TaskDefinition":
                family = self.resolver.resolve(resource["Properties"]["Family"], logical)
                self.world.refs[logical] = (
                    f"arn:aws:ecs:{aws.REGION}:{aws.ACCOUNT}:task-definition/{family}:1"
                )
        if "WorkerTaskDefinition" in resources:
            # the executor's RunTask names it: registered as the stack would register it
            worker = self._task("WorkerTaskDefinition")
            arn = aws.register_task_definition(endpoint, admin, worker.definition)
            if arn != self.world.refs["WorkerTaskDefinition"]:
                raise TaskFailed(f"moto registered {arn}, the template refers to another ARN")

    def _stand_ins(self) -> None:
        engine, net = self.engine, self.project
        database = self.database = self._container("metadata-db")
        engine.docker(
            "run", "--detach", "--name", database, "--network", net,
            "--network-alias", self.db_host,
            "--env", "POSTGRES_USER", "--env", "POSTGRES_PASSWORD", "--env", "POSTGRES_DB",
            self.postgres_image,
            env=engine.env(
                POSTGRES_USER=self.db_user,
                POSTGRES_PASSWORD=self.db_password,
                POSTGRES_DB=self.db_name,
            ),
        )  # fmt: skip
        engine.docker("volume", "create", self.tls_volume)
        # Snowflake reads the stage with the storage integration role: assumed here the same way.
        storage_role = self.storage_outputs["SnowflakeStorageIntegrationRoleArn"]
        stage_credentials = aws.assume(
            self.host_endpoint,
            self.admin,
            storage_role,
            "snowflake",
            duration=3600,
            external_id=EXTERNAL_ID,
        )
        snowflake = self._container("snowflake")
        engine.docker(
            "run", "--detach", "--name", snowflake, "--network", net,
            "--network-alias", SNOWFLAKE_HOST,
            "--sysctl", "net.ipv4.ip_unprivileged_port_start=0",
            "--volume", f"{self.tls_volume}:{TLS_DIR}",
            *_env_names(stage_credentials.env()), "--env", f"AWS_DEFAULT_REGION={aws.REGION}",
            "--entrypoint", "python", self.images.dev,
            "-m", "local", "serve-snowflake", "--host", ANY_ADDRESS, "--port", "443",
            "--s3-endpoint", REHEARSAL_ONLY_ENV["AWS_ENDPOINT_URL"], "--tls-name", SNOWFLAKE_HOST,
            env=engine.env(**stage_credentials.env()),
        )  # fmt: skip
        ready = _ready(443, "--tls-ca", CA_BUNDLE, "--tls-name", SNOWFLAKE_HOST)
        self._wait(lambda: self._exec_ok(snowflake, *ready), 120, snowflake)
        if self.dag_delivery == "git-bundle":
            self._start_git_host()
        self._wait(
            lambda: self._exec_ok(database, "pg_isready", "--username", self.db_user), 60, database
        )
        bucket = self.storage_outputs["StageBucketName"]
        self._one_shot(
            "land-samples",
            ["python", "-m", "local", "land-samples", "--bucket", bucket,
             "--s3-endpoint", REHEARSAL_ONLY_ENV["AWS_ENDPOINT_URL"]],
            self.admin.env(),
        )  # fmt: skip
        # The samples are the first load, which the run triggered through the api-server makes
        # (its figures are the check); their events would start a raw run racing it.
        sqs = aws.client("sqs", self.host_endpoint, self.admin)
        sqs.purge_queue(QueueUrl=self.storage_outputs["EventQueueUrl"])
        self._one_shot(
            "snowflake-setup",
            ["python", "-m", "local", "snowflake-setup"],
            {
                "SNOWFLAKE_STAGE_URL": self.storage_outputs["StageUrl"],
                "SNOWFLAKE_STORAGE_ROLE_ARN": storage_role,
            },
        )

    def _start_git_host(self) -> None:
        """The repository GitRepoUrl names, on the network at that host name, seeded with the
        image's DAGs: HTTPS (443) with a certificate for that name and the connection's token,
        or SSH (22) with the host key GitSshKnownHosts pins and the connection's key authorized."""
        engine, host = self.engine, self._container("git")
        if self.git_over_ssh:
            listen = ["--ssh-port", "22"]
            env = {
                git_server.AUTHORIZED_KEYS_ENV: self.git_authorized_key,
                git_server.HOST_KEY_ENV: self.git_host_key,
            }
            ready = _ready(22, "--ssh")
        else:
            listen = ["--port", "443"]
            env = {git_server.TOKEN_ENV: self.git_token}
            ready = _ready(443, "--tls-ca", GIT_CA_BUNDLE, "--tls-name", GIT_HOST)
        engine.docker(
            "run", "--detach", "--name", host, "--network", self.project,
            "--network-alias", GIT_HOST,
            "--sysctl", "net.ipv4.ip_unprivileged_port_start=0",
            "--volume", f"{self.tls_volume}:{TLS_DIR}",
            *_env_names(env), "--entrypoint", "python", self.images.dev,
            "-m", "local", "serve-git", "--host", ANY_ADDRESS, *listen,
            "--seed", "/opt/airflow/dags", "--tls-name", GIT_HOST,
            env=engine.env(**env),
        )  # fmt: skip
        self._wait(lambda: self._exec_ok(host, *ready), 120, host)
        self.git_host = host

    def _git_head(self) -> str:
        return self.engine.docker(
            "exec", self.git_host, "git", "-C", GIT_REPOSITORY_DIR, "rev-parse", "main"
        ).stdout.strip()

    def _dags_from_git(self) -> str:
        """The pipeline's runs ran the repository's commit; a commit pushed there is parsed
        within the refresh interval, nothing restarted (the dag-processor fetched it with the
        token of the connection ECS injected from Secrets Manager)."""
        head = self._git_head()
        ran = {o.dag_id: o.bundle_version for o in self.outcomes}
        if set(ran.values()) != {head}:
            raise TaskFailed(f"the runs' bundle versions {ran}, the repository's head {head}")
        self.engine.docker("exec", self.git_host, "bash", "-c", _COMMIT_IN_THE_REPOSITORY)
        pushed = self._git_head()
        started = time.monotonic()
        self._wait(lambda: self._fetched_version() == pushed, 120, f"commit {pushed[:12]} fetched")
        return (
            f"runs on {head[:12]} from {self.git_url}; a new commit fetched "
            f"{time.monotonic() - started:.0f} s after it landed"
        )

    def _fetched_version(self) -> str:
        """The commit the dag-processor last fetched (Airflow's dag_bundle table)."""
        bundle = BUNDLE_NAMES["git-bundle"]
        query = f"SELECT version FROM dag_bundle WHERE name = '{bundle}'"  # nosec B608 - constant
        return self.engine.docker(
            "exec", self.database, "psql", "--username", self.db_user, "--dbname", self.db_name,
            "--tuples-only", "--no-align", "--command", query,
        ).stdout.strip()  # fmt: skip

    def _snowflake_env(self) -> dict[str, str]:
        """The connection as Airflow reads it: the SSM parameter `make deploy` wrote."""
        ssm = aws.client("ssm", self.host_endpoint, self.admin)
        value = ssm.get_parameter(Name=airflow_secrets.SNOWFLAKE_PARAMETER, WithDecryption=True)
        return {
            "AIRFLOW_CONN_SNOWFLAKE_DEFAULT": value["Parameter"]["Value"],
            "REQUESTS_CA_BUNDLE": CA_BUNDLE,
            "CONNECTION_CHECK_MAX_COUNT": "0",
        }

    def _one_shot(self, name: str, argv: list[str], env: dict[str, str]) -> str:
        """A helper the deploy does not run (it stands for the user or an upstream producer)."""
        env = {**self._snowflake_env(), "AWS_DEFAULT_REGION": aws.REGION, **env}
        done = self.engine.docker(
            "run", "--rm", "--name", self._container(name, track=False), "--network",
            self.project, "--volume", f"{self.tls_volume}:{TLS_DIR}:ro", *_env_names(env),
            "--entrypoint", argv[0], self.images.dev, *argv[1:],
            check=False, env=self.engine.env(**env),
        )  # fmt: skip
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip().splitlines()
            raise TaskFailed(f"{name} exited {done.returncode}: {output[-1] if output else ''}")
        return done.stdout

    # --- tasks ----------------------------------------------------------------------------------
    def _rehearsal(self) -> Rehearsal:
        return Rehearsal(
            engine=self.engine,
            project=self.project,
            network=self.project,
            endpoint=REHEARSAL_ONLY_ENV["AWS_ENDPOINT_URL"],
            host_endpoint=self.host_endpoint,
            admin=self.admin,
            extra_env=dict(REHEARSAL_ONLY_ENV),
            volumes=[f"{self.tls_volume}:{TLS_DIR}:ro"],
            say=self.say,
        )

    def _task(self, logical: str) -> Task:
        properties = self.resolver.resolve(self.airflow.resources[logical]["Properties"], logical)
        return Task(
            properties["Family"].removeprefix(f"{self.environment_name}-airflow-"), properties
        )

    def _migrate(self) -> str:
        runner = TaskRunner(self._rehearsal(), self._task("MigrationTaskDefinition"))
        self.runners.append(runner)
        task = runner.start()
        (container,) = task.containers
        deadline = time.monotonic() + 600
        while (state := inspect(self.engine, container.name)["State"])["Running"]:
            if time.monotonic() > deadline:
                raise TaskFailed(f"{container.name}: still migrating after 600 s")
            time.sleep(2)
        if state["ExitCode"] != 0:
            raise TaskFailed(
                f"{container.name} exited {state['ExitCode']}: "
                f"{_last_line(last_lines(self.engine, container.name))}"
            )
        runs = self.engine.docker(
            "ps", "--all", "--quiet", "--filter", f"name={self.project}-db-migrate-db-migrate"
        ).stdout.split()
        if len(runs) != 1:
            raise TaskFailed(f"the migration ran {len(runs)} times")
        return f"{time.monotonic() - container.started:.0f} s"

    def _services(self) -> dict[str, dict[str, Any]]:
        return {n: r for n, r in self.airflow.resources.items() if r["Type"] == "AWS::ECS::Service"}

    def _cloud_map_names(self, service: dict[str, Any]) -> list[str]:
        names = []
        for registry in service["Properties"].get("ServiceRegistries", []):
            discovery = registry["RegistryArn"]["Fn::GetAtt"][0]
            properties = self.airflow.resources[discovery]["Properties"]
            namespace = self.airflow.resources[properties["NamespaceId"]["Ref"]]["Properties"]
            names.append(f"{properties['Name']}.{self.resolver.resolve(namespace['Name'])}")
        return names

    def _start_services(self) -> str:
        rehearsal = self._rehearsal()
        started = []
        for service in self._services().values():
            definition = service["Properties"]["TaskDefinition"]["Ref"]
            task = self._task(definition)
            ports = [
                m["ContainerPort"]
                for c in task.definition["ContainerDefinitions"]
                for m in c.get("PortMappings", [])
            ]
            publish = f"127.0.0.1::{ports[0]}" if ports else None
            runner = TaskRunner(rehearsal, task, self._cloud_map_names(service), publish)
            self.runners.append(runner)
            runner.start()
            if ports:
                self.api_runner, self.api_port = runner, ports[0]
            started.append(runner)
        if "WorkerTaskDefinition" in self.airflow.resources:
            cluster = self.resolver.resolve(
                {"Fn::ImportValue": {"Fn::Sub": "${EnvironmentName}-ClusterName"}}
            )
            self.ecs_agent = EcsAgent(rehearsal, cluster, self._task("WorkerTaskDefinition"))
            self.ecs_agent.start()
        timings = []
        for runner in started:
            for container in runner.task.containers:
                timings.append(f"{container.short} {self._wait_healthy(runner, container):.0f} s")
        return ", ".join(timings)

    def _wait_healthy(self, runner: TaskRunner, container) -> float:
        """Seconds until the task definition's health check passes. Docker runs it every
        Interval (30 s), as ECS does; the rehearsal also runs the same command in the container
        every few seconds, so a healthy service is seen when it is, not up to 30 s later."""
        check = container.definition.get("HealthCheck")
        if not check:
            return 0.0
        grace = check.get("StartPeriod", 0) + check.get("Interval", 30) * check.get("Retries", 3)
        while True:
            state = inspect(self.engine, container.name)["State"]
            elapsed = time.monotonic() - container.started
            health = state.get("Health", {}).get("Status")
            if health == "healthy" or (state["Running"] and self._check_passes(container, check)):
                return elapsed
            if not state["Running"] or health == "unhealthy" or elapsed > grace:
                raise TaskFailed(
                    self._why(container.name, state, f"not healthy after {elapsed:.0f} s")
                )
            time.sleep(HEALTH_POLL_SECONDS)

    def _check_passes(self, container, check: dict[str, Any]) -> bool:
        try:
            done = self.engine.docker(
                "exec",
                container.name,
                *health_argv(check),
                check=False,
                timeout=check.get("Timeout", 5),
            )
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def _why(self, name: str, state: dict[str, Any], what: str) -> str:
        health_log = state.get("Health", {}).get("Log") or [{}]
        check_output = (health_log[-1].get("Output") or "").strip()
        oom = ", killed: out of memory" if state.get("OOMKilled") else ""
        parts = [f"{name}: {what} (status {state['Status']}, exit {state['ExitCode']}{oom})"]
        if check_output:
            parts.append(f"health check said: {_last_line(check_output)}")
        parts.append(f"last log line: {_last_line(last_lines(self.engine, name))}")
        return "; ".join(parts)

    # --- the pipeline ---------------------------------------------------------------------------
    def _pipeline(self) -> str:
        from local import pipeline
        from local.airflow_api import AirflowAPI

        admin = self._admin_secret()
        base = f"http://{_published(self.engine, self.api_runner.task.pause, self.api_port)}"
        # as a user signs in: the admin the migration created, from the stack's AdminSecret
        api = AirflowAPI.signed_in(base, admin["username"], admin["password"])
        for dag_id in (pipeline.RAW, pipeline.ANALYTICS):
            self._wait(lambda dag_id=dag_id: api.dag(dag_id) is not None, 300, f"{dag_id} parsed")
            api.unpause(dag_id)
        self.api = api
        outcomes = pipeline.run_pipeline(api, timeout=PIPELINE_TIMEOUT, echo=self.say)
        self.result.figures["runs"] = {o.dag_id: o.state for o in outcomes}
        failed = [o for o in outcomes if o.state != "success"]
        if failed or len(outcomes) != 2:
            tasks = ", ".join(t for o in failed for t in o.failed_tasks)
            raise TaskFailed(f"pipeline runs {self.result.figures['runs']}; failed tasks: {tasks}")
        self.raw_run_id = outcomes[0].run_id
        self.outcomes = outcomes
        self.task_instances = {(o.dag_id, o.run_id, task, -1) for o in outcomes for task in o.tasks}
        return ", ".join(f"{o.dag_id} {o.state} in {o.seconds:.0f} s" for o in outcomes)

    def _event_run(self) -> str:
        """S3's notification to the queue, the triggerer polling it with its own role, a raw run
        that loads only the source whose prefix got the file. The file is a sample landed again
        as it was (an upstream's retry): nothing new loads, so no analytics run follows."""
        from local import pipeline, samples

        s3 = aws.client("s3", self.host_endpoint, self.admin)
        bucket, key = self.storage_outputs["StageBucketName"], "airlines/airlines.csv"
        key = samples.LANDING_PREFIX + key
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        known = frozenset(r["dag_run_id"] for r in self.api.dag_runs(pipeline.RAW, limit=10))
        landed_at = datetime.now(UTC)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        run_id = pipeline.wait_for_event_run(self.api, landed_at, 300, self.say, known)
        raw = pipeline.follow(self.api, pipeline.RAW, run_id, PIPELINE_TIMEOUT, self.say)
        loads = {t: s for t, s in raw.tasks.items() if t.startswith("load_")}
        ran = sorted(t for t, s in loads.items() if s != "skipped")
        if raw.state != "success" or ran != ["load_airlines"]:
            raise TaskFailed(f"event run {run_id}: {raw.state}, tasks {raw.tasks}")
        started = datetime.fromisoformat(self.api.dag_run(pipeline.RAW, run_id)["start_date"])
        return (
            f"run started {(started - landed_at).total_seconds():.0f} s after the put; "
            f"load_airlines success, {len(loads) - 1} other loads skipped"
        )

    def _worker_tasks(self) -> str:
        agent = self.ecs_agent
        agent.wait_idle()
        if agent.errors:
            raise TaskFailed(f"ECS agent: {agent.errors[0]}")
        runs = list(agent.runs.values())
        codes = [run.exit_code for run in runs]
        ran = {run.task_instance for run in runs}
        # A run the scheduler started on its own meanwhile (the sources' safety schedule, at
        # midnight UTC for @daily) runs in worker tasks too: those count as task instances.
        extra = ran - self.task_instances
        scheduled_runs = self._scheduled_runs() if extra else set()
        scheduled = {ti for ti in extra if ti[:2] in scheduled_runs}
        expected = self.task_instances | scheduled
        # A deferred task (Cosmos's watcher sensors defer while the dbt build runs) resumes in a
        # new worker task, and a retry runs in one too: more workers than task instances is fine,
        # a task instance that ran in none (or a worker that ran none) is not.
        if any(c != 0 for c in codes) or ran != expected:
            missing = sorted(str(ti) for ti in self.task_instances - ran)
            strange = sorted(str(ti) for ti in ran - expected)
            failed = "".join(
                f"\n  worker of {run.task_instance} exited {run.exit_code}:\n{run.last_log}"
                for run in runs
                if run.exit_code != 0
            )
            raise TaskFailed(
                f"{len(codes)} worker tasks for {len(self.task_instances)} task instances, "
                f"exit codes {sorted(set(map(str, codes)))}; ran in no worker: {missing}; "
                f"not a task instance of the runs: {strange}{failed}"
            )
        limits = self._task("WorkerTaskDefinition").definition
        again = len(codes) - len(ran)
        own = f" ({len(scheduled)} of a scheduled run)" if scheduled else ""
        return (
            f"{len(ran)} task instances{own} in {len(codes)} worker tasks ({again} resumed or "
            f"retried; {int(limits['Cpu']) / 1024:g} vCPU / {limits['Memory']} MiB, worker role, "
            "no database secrets), all exited 0"
        )

    def _scheduled_runs(self) -> set[tuple[str, str]]:
        from local import pipeline

        return {
            (dag_id, run["dag_run_id"])
            for dag_id in (pipeline.RAW, pipeline.ANALYTICS)
            for run in self.api.dag_runs(dag_id, limit=50)
            if run["run_type"] == "scheduled"
        }

    def _admin_secret(self) -> dict[str, str]:
        sm = aws.client("secretsmanager", self.host_endpoint, self.admin)
        return json.loads(sm.get_secret_value(SecretId=self.secrets["AdminSecret"])["SecretString"])

    def _figures(self) -> str:
        from local import samples
        from snowflake_pipeline.config import load_config  # on sys.path once `local` is imported

        output = self._one_shot("read-back", ["python", "-m", "local", "read-back"], {})
        figures = json.loads(output.strip().splitlines()[-1])
        self.result.figures.update(figures)
        raw_schema = load_config().raw_schema
        expected = {f"{raw_schema}.{k}": v for k, v in samples.source_rows().items()}
        counts = {k: v for k, v in figures["counts"].items() if k in expected}
        if counts != expected:
            raise TaskFailed(f"raw row counts {counts} differ from the sources' {expected}")
        if not figures["delays"]:
            raise TaskFailed("the analytics delay report is empty")
        rows = sum(counts.values())
        return f"{rows} raw rows as in the sources, {len(figures['delays'])} delay rows"

    def _logs(self) -> str:
        logs = aws.client("logs", self.host_endpoint, self.admin)

        def streams(group: str) -> list[dict]:
            pages = logs.get_paginator("describe_log_streams").paginate(logGroupName=group)
            return [s for page in pages for s in page["logStreams"]]

        task_group = self.log_groups["TaskLogGroup"]
        task_streams = [s["logStreamName"] for s in streams(task_group)]
        raw_streams = [s for s in task_streams if "snowflake_raw" in s]
        if not raw_streams:
            raise TaskFailed(f"no task log stream of snowflake_raw in {task_group}: {task_streams}")
        events = logs.get_log_events(logGroupName=task_group, logStreamName=raw_streams[0])
        if not events["events"]:
            raise TaskFailed(f"task log stream {raw_streams[0]} is empty")
        component_group = self.log_groups["ComponentLogGroup"]
        component_streams = {s["logStreamName"] for s in streams(component_group)}
        missing = [
            c.short
            for r in self.runners + (self.ecs_agent.runners if self.ecs_agent else [])
            for c in r.task.containers
            if not any(f"/{c.short}/{r.task_id}" in s for s in component_streams)
        ]
        if missing:
            raise TaskFailed(f"no log stream in {component_group} for {missing}")
        self._no_secret_in(logs, {task_group: task_streams, component_group: component_streams})
        return (
            f"{len(task_streams)} task streams, {len(component_streams)} component streams, "
            "no secret value in them"
        )

    def _no_secret_in(self, logs, groups: dict[str, Any]) -> None:
        """No password or key the containers were given appears in any log event."""
        sm = aws.client("secretsmanager", self.host_endpoint, self.admin)
        values = {}
        for arn in [*self.secrets.values(), self.core_secret_arn]:
            secret = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
            values.update({f"{arn}:{k}": v for k, v in secret.items() if k != "username"})
        if self.git_token:
            values[f"{self.git_secret_arn}:password"] = self.git_token
        if self.git_client_key:  # each line of the key's body
            lines = self.git_client_key.splitlines()[1:-1]
            values |= {f"{self.git_secret_arn}:private_key[{n}]": v for n, v in enumerate(lines)}
        for group, streams in groups.items():
            for stream in streams:
                pages = logs.get_paginator("filter_log_events").paginate(
                    logGroupName=group, logStreamNames=[stream]
                )
                for event in (e for page in pages for e in page["events"]):
                    leaked = [k for k, v in values.items() if v in event["message"]]
                    if leaked:
                        raise TaskFailed(f"{group}/{stream}: a log line holds {leaked[0]}")

    # --- soak and stop ----------------------------------------------------------------------------
    def _services_running(self) -> list[TaskRunner]:
        return [r for r in self.runners if r.task.family != "db-migrate"]

    def _soak(self) -> str:
        end = time.monotonic() + self.soak_seconds
        peaks: dict[str, float] = {}
        next_report = time.monotonic() + 60
        while time.monotonic() < end:
            for runner in self._services_running():
                for container in runner.task.containers:
                    state = inspect(self.engine, container.name)["State"]
                    if not state["Running"] or state.get("Health", {}).get("Status") == "unhealthy":
                        raise TaskFailed(self._why(container.name, state, "failed during the soak"))
            for name, mib in _memory_mib(self.engine, self.project).items():
                peaks[name] = max(peaks.get(name, 0.0), mib)
            if time.monotonic() >= next_report:
                self.say(f"  soak: {end - time.monotonic():.0f} s to go, all healthy")
                next_report += 60
            time.sleep(10)
        self.result.figures["peak_memory_mib"] = peaks
        limits = []
        for runner in self._services_running():
            used = sum(peaks.get(c.name, 0.0) for c in runner.task.containers)
            limits.append(f"{runner.task.family} {used:.0f}/{runner.task.definition['Memory']} MiB")
        return "peak memory " + ", ".join(limits)

    def _stop(self) -> str:
        report = []
        for runner in reversed(self._services_running()):
            for name, (seconds, exit_code, timeout) in runner.stop().items():
                if exit_code == 137 or seconds > timeout + 5:
                    raise TaskFailed(
                        f"{runner.task.family}/{name}: killed after its StopTimeout of {timeout} s"
                        f" (exit {exit_code}, {seconds:.0f} s)"
                    )
                report.append(f"{name} {seconds:.0f}/{timeout} s")
        return ", ".join(report)

    # --- plumbing ---------------------------------------------------------------------------
    def _container(self, name: str, track: bool = True) -> str:
        full = f"{self.project}-{name}"
        if track:
            self.containers.append(full)
        return full

    def _exec_ok(self, container: str, *argv: str) -> bool:
        return self.engine.docker("exec", container, *argv, check=False).returncode == 0

    def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise TaskFailed(f"{what}: not ready within {timeout:.0f} s")
            time.sleep(1)

    def _clean_up(self) -> None:
        if self.ecs_agent:
            self.ecs_agent.stop()
        for runner in self.runners + (self.ecs_agent.runners if self.ecs_agent else []):
            runner.remove()
        if self.containers:
            self.engine.docker("rm", "--force", "--volumes", *self.containers, check=False)
        self.engine.docker("volume", "rm", "--force", self.tls_volume, check=False)
        self.engine.docker("network", "rm", self.project, check=False)
        if hasattr(self, "image_uri"):
            self.engine.docker("rmi", self.image_uri, check=False)


# In the git host's container: a commit as a user would push it (an empty one: only the version
# changes), straight into the served repository (the push over HTTPS is the compose tier's).
_COMMIT_IN_THE_REPOSITORY = f"""
set -euo pipefail
work=$(mktemp -d)
git clone --quiet {GIT_REPOSITORY_DIR} "$work"
git -C "$work" -c user.name=rehearsal -c user.email=rehearsal@example.com \\
    commit --quiet --allow-empty -m "a pushed commit"
git -C "$work" push --quiet origin main
"""


def _ready(port: int, *options: str) -> list[str]:
    """The command that exits 0 once the stand-in in the container answers on `port` as its
    clients need (local/ready.py: the check compose's healthchecks run too)."""
    return ["python", "-m", "local", "ready", str(port), *options]


def _private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _published(engine: Engine, container: str, port: int) -> str:
    """host:port where a container's port is published on 127.0.0.1."""
    return engine.docker("port", container, str(port)).stdout.split()[0]


def _env_names(env: dict[str, str]) -> list[str]:
    return [flag for key in env for flag in ("--env", key)]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:400] if lines else "(no output)"


def _memory_mib(engine: Engine, project: str) -> dict[str, float]:
    done = engine.docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", check=False)
    found = {}
    for line in done.stdout.splitlines():
        name, _, usage = line.partition(" ")
        if not name.startswith(project):
            continue
        found[name] = _mib(usage.split("/")[0].strip())
    return found


def _mib(text: str) -> float:
    units = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0, "kB": 1 / 1024}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return 0.0


def print_table(result: ProfileResult, say: Callable[[str], None] = print) -> None:
    say(f"\nrehearsal of the {result.profile} profile: {'PASSED' if result.ok else 'FAILED'}")
    width = max(len(c.name) for c in result.checks) if result.checks else 10
    say(f"  {'check':<{width}}  result  time")
    for check in result.checks:
        say(f"  {check.name:<{width}}  {'pass' if check.ok else 'FAIL':<6}  {check.seconds:6.0f} s")
        if check.detail:
            say(f"  {'':<{width}}    {check.detail}")


def profiles_to_rehearse(chosen: list[str] | None) -> list[str]:
    names = chosen or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise KeyError(f"unknown rehearsal {unknown}; choose from {list(VARIANTS)}")
    return names


# Side by side, each profile starts this long after the previous one, so that their boots (the
# CPU-heavy part: imports, migrations) do not all compete for the same cores.
STAGGER_SECONDS = 45


def rehearse_profiles(
    engine: Engine,
    images: Images,
    postgres_image: str,
    names: list[str],
    work: Path,
    soak_seconds: float,
    say=progress,
    side_by_side: bool = False,
) -> dict[str, ProfileResult]:
    """Rehearse each profile in `names`, one after the other or side by side (every profile has
    its own project name, network, volumes and moto, so they share nothing but the images)."""

    def one(index: int, name: str) -> ProfileResult:
        if side_by_side:
            time.sleep(index * STAGGER_SECONDS)
        work_dir = work / name
        work_dir.mkdir(parents=True, exist_ok=True)
        profile = ProfileRehearsal(
            engine, images, postgres_image, name, work_dir, soak_seconds, say
        )
        return profile.run()

    if not side_by_side:
        return {name: one(i, name) for i, name in enumerate(names)}
    # The longest first: the ECS executor's variant runs a worker task per Airflow task.
    order = sorted(names, key=lambda name: VARIANTS[name].executor != "AwsEcsExecutor")
    with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="rehearsal") as pool:
        futures = {name: pool.submit(one, order.index(name), name) for name in names}
        return {name: future.result() for name, future in futures.items()}


def rehearse(
    chosen: list[str] | None, soak_seconds: float, say=progress, side_by_side: bool = False
) -> int:
    """Build the images, rehearse each profile, print the tables; 0 when every check passed."""
    names = profiles_to_rehearse(chosen)
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C: containers, network and dockerd go.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    engine = engine_mod.find_or_start(engine_mod.DEFAULT_STATE_DIR, say)
    results: dict[str, ProfileResult] = {}
    try:
        bases = offline_base.ensure(engine, engine_mod.DEFAULT_STATE_DIR, say)
        with tempfile.TemporaryDirectory(prefix="rehearsal-") as work:
            context = compose.build_context(Path(work) / "context", "")
            images = compose.build_images(engine, bases, context, say)
            results = rehearse_profiles(
                engine, images, bases.postgres, names, Path(work), soak_seconds, say, side_by_side
            )
    finally:
        engine.stop()
    for result in results.values():
        print_table(result, say)
    return 0 if results and all(r.ok for r in results.values()) else 1
