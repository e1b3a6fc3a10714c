"""The container tier: the image built and the compose stack run on a real Docker engine.

The engine is the one found (DOCKER_HOST, or the CLI's default), else a dockerd of our own
(root on Debian), stopped by PID at the end. Without any engine the tier is skipped loudly, and
fails under CI=true. Progress goes to the terminal as it happens: builds take minutes.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from deploy.containers import compose, offline_base
from deploy.containers import engine as engine_mod
from deploy.containers.engine import progress as say
from local.settings import free_port
from snowflake_pipeline.config import load_config
from test.e2e.expected import delays_by_origin_quarter, source_frames

STATE_DIR = engine_mod.DEFAULT_STATE_DIR
# the image's own checks first (they fail faster), the rehearsal last (the longest)
MODULE_ORDER = ("test_image", "test_compose", "test_rehearsal")
COMPOSE_SELECTED = pytest.StashKey[bool]()


def pytest_collection_modifyitems(config, items):
    def rank(item):
        module = item.path.stem
        return MODULE_ORDER.index(module) if module in MODULE_ORDER else len(MODULE_ORDER)

    items.sort(key=rank)
    config.stash[COMPOSE_SELECTED] = any(item.path.stem == "test_compose" for item in items)


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


def _down_if_left(running: compose.ComposeStack) -> None:
    """What test_compose did not take down itself (it ends with `down -v`): a failure's."""
    if running.containers() or running.leftovers()["volume"]:
        for service in ("airflow-init", "scheduler", "pipeline-trigger"):
            say(f"--- last log lines of {service}:\n{running.logs(service)[-3000:]}")
        running.down(volumes=True)


@pytest.fixture(scope="session")
def compose_booting(engine, env_file, api_port):
    """The compose stack's `up`, begun in the background: its boot (a chain of health checks,
    2-3 minutes) overlaps the image's own tests instead of following them."""
    project = f"asf-tier-{uuid.uuid4().hex[:8]}"
    running = compose.ComposeStack(engine, env_file, project, api_port, say)
    say(f"compose project {project}: up, beside the image's tests (UI on 127.0.0.1:{api_port})")
    with ThreadPoolExecutor(1, thread_name_prefix="compose-up") as pool:
        booted = pool.submit(running.up)
        try:
            yield running, booted
        finally:
            booted.exception()  # it has ended, however, before anything is taken down
            _down_if_left(running)


@pytest.fixture(autouse=True)
def _compose_boots_beside_the_image_tests(request):
    """From the first image test that needs the built images, when test_compose will run."""
    if (
        request.node.path.stem == "test_image"
        and "images" in request.fixturenames
        and request.config.stash.get(COMPOSE_SELECTED, False)
    ):
        request.getfixturevalue("compose_booting")


@pytest.fixture(scope="module")
def stack(compose_booting):
    running, booted = compose_booting
    try:
        booted.result()
        yield running
    finally:
        _down_if_left(running)


@pytest.fixture(scope="session")
def expected():
    """The figures compose and the rehearsal must read back, computed from the source files."""
    frames = source_frames()
    raw_schema = load_config().raw_schema
    return {
        "delays": delays_by_origin_quarter(frames["flights"]),
        "raw_counts": {f"{raw_schema}.{name}": len(frame) for name, frame in frames.items()},
    }
