"""A real moto server on 127.0.0.1 (free port, stopped by PID) and the deploy CLI's inputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest
import yaml

from deploy import orchestrate, templates
from local.settings import free_port

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_server():
    yield from serve_moto()


def serve_moto(env: dict[str, str] | None = None):
    """A moto server process (with these extra environment variables) until the generator ends."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)  # noqa: S310 - local http
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the moto server did not start") from None
            time.sleep(0.2)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def aws(moto_server, monkeypatch):
    """Fake credentials, a clean moto state, and Clients pointed at the server."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's fake credentials
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10)  # noqa: S310 - local http
    session = boto3.session.Session(region_name=REGION)
    return orchestrate.Clients.create(session, moto_server)


@pytest.fixture
def stand_in_templates(tmp_path, monkeypatch):
    """storage.yml as is; network.yml and airflow.yml reduced to their parameters and outputs.

    moto cannot create the real network and airflow stacks (Fn::GetAZs, exports of change-set
    deploys, ECS fields: FINDINGS). Their stand-ins keep every real parameter, so the CLI's
    parameters are still validated by moto, and every real output name, with placeholder values.
    """
    placeholders = {
        "ClusterName": "airflow-cluster",
        "PublicSubnetIds": "subnet-public-a,subnet-public-b",
        "PrivateSubnetIds": "subnet-private-a,subnet-private-b",
        "MigrationTaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/m:1",
        "ServiceSecurityGroupId": "sg-0123456789abcdef0",
        "TaskAssignPublicIp": "DISABLED",
        "UiUrl": "http://airflow-alb.example",
    }
    shutil.copy(templates.template_path("storage"), tmp_path / "storage.yml")
    for stack in ("network", "airflow"):
        real = templates.load(stack)
        stand_in = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": real["Parameters"],
            "Rules": real.get("Rules", {}),  # the CLI checks them before changing anything
            "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {
                name: {"Value": placeholders.get(name, f"placeholder-{name}")}
                for name in real["Outputs"]
            },
        }
        (tmp_path / f"{stack}.yml").write_text(yaml.safe_dump(stand_in))
    monkeypatch.setattr(templates, "TEMPLATE_DIR", tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def private_key_file(tmp_path_factory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path_factory.mktemp("snowflake") / "rsa_key.p8"
    path.write_bytes(pem)
    return path


@pytest.fixture
def deploy_env(private_key_file):
    """Environment variables a user sets before `make deploy`."""
    return {
        "AWS_REGION": REGION,
        "DEPLOY_ALLOWED_CIDR": "203.0.113.7/32",
        "SNOWFLAKE_ACCOUNT": "myorg-myaccount",
        "SNOWFLAKE_USER": "AIRFLOW_LOADER",
        "SNOWFLAKE_PRIVATE_KEY_FILE": str(private_key_file),
        "DEPLOY_IMAGE_URI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow/airflow:abc123",
        # prod without an ACM certificate: the explicit opt-out (moto has no ACM to issue one)
        "DEPLOY_ALLOW_PLAIN_HTTP": "true",
    }
