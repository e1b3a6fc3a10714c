"""End-to-end tests on local stacks: the same code as `make run`, other ports.

The modules run in the lanes of lanes.py (one stack per pytest-xdist worker), in lane order.
"""

import os
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
import yaml

from local import pipeline
from snowflake_pipeline import config as pipeline_config

from .lanes import MODULE_ORDER


def pytest_collection_modifyitems(items):
    here = str(Path(__file__).parent)

    def rank(item):
        module = item.path.stem
        return MODULE_ORDER.index(module) if module in MODULE_ORDER else len(MODULE_ORDER)

    # The end-to-end tests run last (they set the stack's environment), in MODULE_ORDER.
    items.sort(key=lambda item: (str(item.path.parent) == here, rank(item)))


@pytest.fixture(scope="session")
def sources_file(tmp_path_factory) -> Path:
    """A copy of the DAGs' sources file that the stack reads; tests may change it. Without the
    events and the safety schedule: each scenario starts the runs it follows (test_events turns
    events on for its own)."""
    config = yaml.safe_load(pipeline_config.sources_file().read_text())
    config.pop("events", None)
    config["schedule"] = None
    path = tmp_path_factory.mktemp("config") / "sources.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextmanager
def running_stack(state_dir: Path, sources_file: Path, dags_from: str = "folder"):
    """A stack of its own (free ports, state in `state_dir`), started by `make run`'s `up()` and
    stopped at the end; yields (settings, api)."""
    from local import stack as stack_mod
    from local.settings import Settings

    settings = Settings.on_free_ports(state_dir, dags_from=dags_from)
    stack_env = {**settings.as_env(), "PIPELINE_SOURCES_FILE": str(sources_file)}
    saved = {key: os.environ.get(key) for key in stack_env}
    os.environ.update(stack_env)
    try:
        api = stack_mod.up(settings)
        yield settings, api
    finally:
        stack_mod.down(settings)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def stack(tmp_path_factory, sources_file):
    with running_stack(tmp_path_factory.mktemp("stack"), sources_file) as started:
        yield started


@contextmanager
def analytics_paused(api):
    """snowflake_analytics paused for the block. Airflow queues no run of a paused DAG for Asset
    events, so the raw runs meanwhile start no analytics run that would run on beside the lane's
    later scenarios (17 task processes and a dbt build each). For the scenarios that assert on the
    raw layer only: test_pipeline and test_events assert on analytics and leave it on."""
    api.pause(pipeline.ANALYTICS)
    try:
        yield
    finally:
        api.unpause(pipeline.ANALYTICS)


@pytest.fixture
def raw_layer_only(stack):
    with analytics_paused(stack[1]):
        yield


@pytest.fixture
def snowflake(stack):
    """A new session per test: the emulator may have been restarted by a fault test."""
    from local.airflow_env import connect_snowflake

    settings, _ = stack
    with closing(connect_snowflake(settings)) as conn:
        yield conn


@pytest.fixture(scope="session")
def s3(stack):
    from local.stack import s3_client

    settings, _ = stack
    return s3_client(settings)
