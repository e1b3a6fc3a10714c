# Two commands matter first: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
UV := $(VENV)/bin/uv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run stop status test test-quick lint snowflake-setup add-source land dbt dbt-docs clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@echo "==> installing pinned dependencies into $(VENV) (uv)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8
	@$(UV) pip install --python $(PY) -r requirements-dev.txt -c constraints.txt
	@touch $(STAMP)

# The dependencies, then the dbt manifest snowflake_analytics is rendered from (`make run`
# builds it too, before Airflow starts, whenever a file of dbt/ is newer).
install: $(STAMP)
	@$(PY) -m local dbt-parse

# DAGS_FROM=git: the dag-processor reads the DAGs from a git repository (.local/dags-repo, made on
# first use from airflow/dags) through GitDagBundle instead of the working tree (README, "DAGs from git").
DAGS_FROM ?=

run: $(STAMP)
	@$(if $(DAGS_FROM),LOCAL_STACK_DAGS_FROM=$(DAGS_FROM) )$(PY) -m local run

stop:
	@test -x $(PY) && $(PY) -m local stop || true

status: $(STAMP)
	@$(PY) -m local status

snowflake-setup: $(STAMP)
	@$(PY) -m local snowflake-setup

# Land a file under a source's prefix on the running stack; its S3 event starts snowflake_raw,
# which is followed to its result, e.g. FILE=weather-2014.csv SOURCE=weather.
land: $(STAMP)
	@$(PY) -m local land "$(FILE)" --source "$(SOURCE)"

# A sources.yml entry inferred from a sample file, e.g. ARGS="--name routes routes.csv.gz".
add-source: $(STAMP)
	@$(PY) -m local add-source $(ARGS)

# dbt on the analytics project (dbt/) against the running local stack (`make run` first), with the
# profile a DAG gets from snowflake_default, e.g. ARGS="build -s flights+" or ARGS="build --full-refresh".
dbt: $(STAMP)
	@$(PY) -m local dbt $(ARGS)

# dbt's documentation site of the project, generated against the running stack (.local/dbt-docs/).
dbt-docs: $(STAMP)
	@$(PY) -m local dbt-docs

# Every tox env at once, output live: the end-to-end lanes and the container tier mostly wait on
# Airflow's scheduling, so they overlap well even on 2 cores. `tox run` runs them one by one.
test: $(STAMP)
	@$(VENV)/bin/tox run-parallel --parallel all --parallel-live

# The inner loop (about 1 minute): lint and every test but the end-to-end and container tiers.
test-quick: $(STAMP)
	@$(VENV)/bin/tox run -e lint,tests -- -q -m "not e2e"

lint: $(STAMP)
	@$(VENV)/bin/tox run -e lint

clean: stop
	rm -rf .local .tox

# Docker (docs/docker.md): the image ECS runs, and the whole stack in docker compose.
.PHONY: image compose-up compose-down test-containers

image:
	docker build -t airflow-snowflake-fargate:local .

# DAGS_FROM=git: the DAGs from compose's git server (docker-compose-git.yml), as `make run` has it.
COMPOSE_FILES = -f docker-compose-local.yml $(if $(filter git,$(DAGS_FROM)),-f docker-compose-git.yml)

compose-up:
	@test -f .env || python3 docker/init_env.py
	docker compose $(COMPOSE_FILES) up --build --detach
	@echo "==> Airflow UI: http://localhost:8080 (docker compose $(COMPOSE_FILES) ps)"

compose-down:
	docker compose $(COMPOSE_FILES) down

# The container tier alone (also part of `make test`): builds the image, runs compose end to end.
test-containers: $(STAMP)
	@$(VENV)/bin/tox run -e containers

# AWS (docs/deploy.md): CloudFormation stacks on ECS Fargate. PROFILE=dev|prod, ARGS=more options.
.PHONY: deploy destroy cost rehearse

# Before paying AWS: the task definitions of every variant (prod, dev, prod-ecs, dev-git,
# dev-git-ssh) run on Docker with moto as AWS, 5 min soak (docs/deploy.md, "Rehearse before you
# deploy").
# ARGS="--profile dev --soak 60" narrows it, ARGS=--side-by-side runs the variants at once.
rehearse: $(STAMP)
	@$(PY) -m deploy rehearse $(ARGS)

PROFILE ?= prod

deploy: $(STAMP)
	@$(PY) -m deploy deploy --profile $(PROFILE) $(ARGS)

destroy: $(STAMP)
	@$(PY) -m deploy destroy --profile $(PROFILE) $(ARGS)

cost: $(STAMP)
	@$(PY) -m deploy cost $(ARGS)

# Benchmarks (figures, never asserted in tests): bench/results.json. ARGS, e.g.
# ARGS="--runs 1 --skip 10x start --skip-cold" for a quick pass; see python -m bench --help.
.PHONY: bench
bench: $(STAMP)
	@$(PY) -m bench $(ARGS)
