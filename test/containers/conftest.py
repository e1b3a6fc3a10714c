"""The container tier: the image built and the compose stack run on a real Docker engine.

The engine is the one found (DOCKER_HOST, or the CLI's default), else a dockerd of our own
(root on Debian), stopped by PID at the end. Without any engine the tier is skipped loudly, and
fails under CI=true. Progress goes to the terminal as it happens: builds take minutes.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from deploy.containers import compose, offline_base
from deploy.containers import engine as engine_mod
from deploy.containers.engine import progress as say
from deploy.rehearsal import run as rehearsal
from local.settings import free_port
from snowflake_pipeline.config import load_config
from test.e2e.expected import delays_by_origin_quarter, source_frames

STATE_DIR = engine_mod.DEFAULT_STATE_DIR
# the image's own checks first (they fail faster), the rehearsal last (the longest; it starts
# in the background when the compose stack does, and its tests wait for it)
MODULE_ORDER = ("test_image", "test_compose", "test_rehearsal")

# The tier's rehearsal (test_rehearsal.py): `make rehearse` soaks 300 s.
REHEARSAL_SOAK_SECONDS = 60
# prod-ecs runs the prod profile's four service task definitions (the same ones `prod` runs; only
# the scheduler's executor setting differs) plus the ECS executor's worker task definition, with
# the DAGs in the image; dev-git-ssh runs the combined task with LocalExecutor, the DAGs from a
# git host over SSH (the key from Secrets Manager, the host key pinned by the stack, port 22 only
# for the DAG readers). `prod` adds only LocalExecutor under the prod scheduler's limits, `dev`
# only the image's DAGs in the combined task and `dev-git` the same git host over HTTPS with a
# token (which compose's git server covers too), each a third set of CPU-bound containers on a
# 2-core runner: `make rehearse` covers them.
REHEARSAL_VARIANTS = ("dev-git-ssh", "prod-ecs")


def pytest_collection_modifyitems(items):
    def rank(item):
        module = item.path.stem
        return MODULE_ORDER.index(module) if module in MODULE_ORDER else len(MODULE_ORDER)

    items.sort(key=rank)


@pytest.fixture(scope="session")
def engine():
    try:
        found = engine_mod.find_or_start(STATE_DIR, say)
    except engine_mod.EngineUnavailable as exc:
        message = f"CONTAINER TIER NOT RUN: no Docker engine: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the tier is required)")
        say("!" * 78)
        say(message)
        say("!" * 78)
        pytest.skip(message)
    say(f"engine: {found.description}")
    yield found
    if found.started_pid:
        say(f"stopping the dockerd we started (pid {found.started_pid})")
    found.stop()


@pytest.fixture(scope="session")
def bases(engine) -> offline_base.BaseImages:
    return offline_base.ensure(engine, STATE_DIR, say)


@pytest.fixture(scope="session")
def api_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def stack_env_text(api_port) -> str:
    """The stack's .env before the image names are known: fresh secrets, the tier's port."""
    return compose.env_text(None, api_port)


@pytest.fixture(scope="session")
def build_context(tmp_path_factory, stack_env_text):
    return compose.build_context(tmp_path_factory.mktemp("context"), stack_env_text)


@pytest.fixture(scope="session")
def images(engine, bases, build_context) -> compose.Images:
    return compose.build_images(engine, bases, build_context, say)


@pytest.fixture(scope="session")
def env_file(tmp_path_factory, images, stack_env_text):
    path = tmp_path_factory.mktemp("compose") / ".env"
    path.write_text(stack_env_text + compose.image_names(images))
    path.chmod(0o600)
    return path


@pytest.fixture(scope="session")
def secrets(stack_env_text) -> dict[str, str]:
    values = compose.env_values(stack_env_text)
    return {key: values[key] for key in compose.load_init_env().GENERATORS}


@pytest.fixture(scope="session")
def rehearsals_started(engine, images, bases, tmp_path_factory) -> Future:
    """The tier's rehearsal variants (side by side, each on its own network with its own moto),
    started in a thread of their own: they run beside the compose tests instead of after them.
    The thread is waited for before the engine stops."""
    work = tmp_path_factory.mktemp("rehearsals")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tier-rehearsal")
    say(f"rehearsal of {', '.join(REHEARSAL_VARIANTS)}: started beside the compose tests")
    future = pool.submit(
        rehearsal.rehearse_profiles,
        engine, images, bases.postgres, list(REHEARSAL_VARIANTS), work,
        REHEARSAL_SOAK_SECONDS, say, True,
    )  # fmt: skip
    yield future
    pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def stack(request, engine, env_file, api_port):
    if any(item.path.stem == "test_rehearsal" for item in request.session.items):
        request.getfixturevalue("rehearsals_started")  # the rehearsal runs meanwhile
    project = f"asf-tier-{uuid.uuid4().hex[:8]}"
    running = compose.ComposeStack(engine, env_file, project, api_port, say)
    say(f"compose project {project}: up (UI on 127.0.0.1:{api_port})")
    try:
        running.up()
        yield running
    finally:
        if running.containers() or running.leftovers()["volume"]:
            for service in ("airflow-init", "scheduler", "pipeline-trigger"):
                say(f"--- last log lines of {service}:\n{running.logs(service)[-3000:]}")
            running.down(volumes=True)


@pytest.fixture(scope="session")
def expected():
    """The figures compose and the rehearsal must read back, computed from the source files."""
    frames = source_frames()
    raw_schema = load_config().raw_schema
    return {
        "delays": delays_by_origin_quarter(frames["flights"]),
        "raw_counts": {f"{raw_schema}.{name}": len(frame) for name, frame in frames.items()},
    }
