"""One isolated local stack for all end-to-end tests: the same code as `make run`, other ports."""

import os
import socket
from contextlib import closing

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    os.environ.update(
        {
            "LOCAL_STACK_DIR": str(tmp_path_factory.mktemp("stack")),
            "LOCAL_STACK_S3_PORT": str(_free_port()),
            "LOCAL_STACK_SNOWFLAKE_PORT": str(_free_port()),
            "LOCAL_STACK_API_PORT": str(_free_port()),
        }
    )
    from local import settings as settings_mod
    from local import stack as stack_mod

    settings = settings_mod.load()
    try:
        api = stack_mod.up(settings)
        yield settings, api
    finally:
        stack_mod.down(settings)


@pytest.fixture(scope="session")
def snowflake(stack):
    from local.airflow_env import connect_snowflake

    settings, _ = stack
    with closing(connect_snowflake(settings)) as conn:
        yield conn


@pytest.fixture(scope="session")
def s3(stack):
    import boto3

    settings, _ = stack
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        region_name="us-east-1",
    )
