# The project's Airflow image: the official Airflow 3.3.2 image plus our pinned providers,
# DAGs, plugins, Snowflake SQL and the dbt project with its manifest. One image runs every
# component (api-server, scheduler, dag-processor, triggerer, db migrate) locally in
# docker-compose-local.yml and on ECS Fargate.
#
# Targets:
#   runtime (default)  what ECS runs and `make image` builds
#   test               runs the DAG-integrity and unit tests inside the image; fails when they fail
#   dev                runtime + the emulators (moto, fakesnow) and `local/`, for the compose
#                      profile `emulators`; never deployed
#
# Build: docker build -t airflow-snowflake-fargate:local .
#        docker build --target test .
# BuildKit and the classic builder (DOCKER_BUILDKIT=0) both build it: no `# syntax=` frontend
# to pull, no BuildKit-only flags (file modes come from git). Where the official base cannot be
# pulled, pass a stand-in: --build-arg AIRFLOW_BASE_IMAGE=... (see docs/docker.md).

############################################################################################
# deps: the pinned runtime requirements on top of the official image. The lock
# (constraints.txt) is the same one `make run` installs from, so local and cloud share
# versions. The official image keeps its virtualenv in ~/.local (VIRTUAL_ENV) and ships uv;
# installing as the airflow user is what its docs prescribe.
############################################################################################
# checkov:skip=CKV_DOCKER_7:The base is pinned by the ARG's default (3.3.2-python3.12); checkov cannot resolve ARGs.
ARG AIRFLOW_BASE_IMAGE=apache/airflow:3.3.2-python3.12
FROM ${AIRFLOW_BASE_IMAGE} AS deps
ARG AIRFLOW_BASE_IMAGE

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
USER 50000

COPY requirements.txt constraints.txt /tmp/requirements/
RUN uv pip install --no-cache \
        -r /tmp/requirements/requirements.txt \
        -c /tmp/requirements/constraints.txt
# The bytecode of what the components and tasks import, written once here rather than by every
# new container (each Fargate task, each ECS executor worker) before its first line of work.
COPY docker/precompile.py /tmp/precompile.py
RUN python /tmp/precompile.py

# Labels come after the install so that a new revision does not invalidate it.
ARG IMAGE_VERSION=0.1.0
ARG VCS_REF=unknown

LABEL org.opencontainers.image.title="airflow-snowflake-fargate" \
      org.opencontainers.image.description="Apache Airflow 3.3.2 loading S3 into Snowflake (ECS Fargate and docker compose)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${IMAGE_VERSION}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.base.name="${AIRFLOW_BASE_IMAGE}"

############################################################################################
# manifest: the dbt project's manifest (dbt/target/manifest.json), which Cosmos renders the
# analytics DAG from (no `dbt ls` when a DAG file is parsed). `dbt parse` never connects: it
# runs with the project's parse-only profile (dbt/parse_profile, no secret), no network needed.
############################################################################################
FROM deps AS manifest

COPY --chown=50000:0 dbt/ /tmp/dbt/
WORKDIR /tmp/dbt
RUN DO_NOT_TRACK=1 DBT_PROFILES_DIR=/tmp/dbt/parse_profile \
        dbt parse --no-partial-parse --quiet \
    && test -s target/manifest.json \
    && rm -rf logs target/partial_parse.msgpack target/graph.gpickle

############################################################################################
# app: the production content. Code is owned by root and read-only for the airflow user.
############################################################################################
FROM deps AS app

# Cosmos's "reliable retry" copies every XCom the dbt build pushes into an Airflow Variable, the
# whole copy again at each push (183 Variable writes per analytics run, each through the API and,
# on ECS, the secrets backend chain), so that a retry of the build could restore them. The build
# is never retried (snowflake_analytics.py: retries 0), so the copy is never read: off.
# A task's supervisor (the process that holds its executor slot) often sees the task's sockets
# close just before the task process can be reaped; it then sleeps on an empty selector for
# [workers] min_heartbeat_interval (5 s by default) before it notices the exit. Measured on the
# local stack: 4-5 of the 23 tasks of a pipeline run held their slot 5 s after they had finished.
# At 1 s that lag is at most 1 s, for one heartbeat a second per running task (parallelism 4).
# The Snowflake connector probes, at every login, for the cloud it runs on (the EC2, Azure and GCE
# metadata endpoints, an AWS identity through boto3) to report it in the login's telemetry: on
# Fargate that is up to 0.2 s of timeouts per task, and 0.09 s of CPU per task process measured
# on the local stack. Authentication does not use it: off.
ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY=False \
    AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL=1 \
    SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true \
    DO_NOT_TRACK=1

COPY airflow/dags/ /opt/airflow/dags/
COPY airflow/plugins/ /opt/airflow/plugins/
COPY sql/ /opt/airflow/sql/
# The analytics layer: the dbt project and the manifest built above, read-only like the code.
COPY --from=manifest --chown=0:0 /tmp/dbt/ /opt/airflow/dbt/
# airflow_local_settings.py: the scheduler preloads the Snowflake connector before forking workers.
COPY airflow/config/ /opt/airflow/config/
# Its mode (0755) comes from git: `COPY --chmod` would need BuildKit.
COPY docker/healthcheck.py /usr/local/bin/airflow-healthcheck
# A git DAG bundle over SSH checks the git host against the keys the deployment pins
# (GIT_SSH_KNOWN_HOSTS), never trusting a key on first use (docs/deploy.md, "DAGs from git").
COPY docker/ssh_config_git_known_hosts.conf /etc/ssh/ssh_config.d/airflow-git-known-hosts.conf

# The system CA bundle is what compose points REQUESTS_CA_BUNDLE at for a real account.
# The code is compiled as its owner (root): the airflow user cannot write its __pycache__.
USER 0
RUN test -s /etc/ssl/certs/ca-certificates.crt \
    && python -m compileall -q /opt/airflow/dags /opt/airflow/plugins /opt/airflow/config

WORKDIR /opt/airflow
USER 50000

# The same checks as the ECS task definitions; the component is read from the container's
# command (see docker/healthcheck.py). Compose and ECS name the component explicitly.
HEALTHCHECK --interval=30s --timeout=30s --start-period=60s --retries=5 \
    CMD ["/usr/local/bin/airflow-healthcheck"]

############################################################################################
# workspace: the repository layout the tests and `local/` expect (pyproject.toml with
# pythonpath airflow/plugins and ., sql/ at the root), pointing at the image's own copies so
# the tests exercise exactly what ships.
############################################################################################
FROM app AS workspace

COPY pyproject.toml /opt/airflow/pyproject.toml
RUN mkdir -p /opt/airflow/airflow \
    && ln -s /opt/airflow/dags /opt/airflow/airflow/dags \
    && ln -s /opt/airflow/plugins /opt/airflow/airflow/plugins

############################################################################################
# test: `docker build --target test .` fails when a DAG does not import or a unit test fails;
# the image keeps the JUnit report (/opt/airflow/test-results.xml) of the run that built it.
############################################################################################
FROM workspace AS test

COPY test/ /opt/airflow/test/
RUN uv pip install --no-cache -c /tmp/requirements/constraints.txt pytest pytest-timeout \
    && pytest -p no:cacheprovider -m "not e2e" test/dags test/plugins \
        --junitxml=/opt/airflow/test-results.xml

############################################################################################
# dev: the emulators (moto S3, fakesnow over TLS) and the project's launchers in `local/`,
# for the compose profile `emulators`. Never deployed.
############################################################################################
FROM workspace AS dev

COPY requirements-dev.txt /tmp/requirements/
RUN uv pip install --no-cache \
        -r /tmp/requirements/requirements-dev.txt \
        -c /tmp/requirements/constraints.txt
COPY local/ /opt/airflow/local/
ENV PYTHONPATH=/opt/airflow/plugins:/opt/airflow
# The emulators' and the git server's named volumes (fakesnow's CA in .local/tls, its data, the
# git server's repositories): a named volume takes the ownership of the directory it is mounted
# on, so each must exist, owned by airflow; the dev image only.
RUN mkdir -p /opt/airflow/.local/tls /opt/airflow/.local/snowflake /opt/airflow/.local/git-server

############################################################################################
# runtime: the default target, deployed to ECS and run by docker-compose-local.yml.
############################################################################################
FROM app AS runtime

USER 50000
