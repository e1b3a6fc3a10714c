"""fakesnow with every patch of local/emulator installed: a file stage, and an S3 stage read from
a real moto server as the local stack's emulator reads it."""

import urllib.request

import pytest
from fakesnow.instance import FakeSnow

from local.emulator.server import install_patches
from local.emulator.stage_files import FILESYSTEMS


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    install_patches()
    data = tmp_path_factory.mktemp("stage")
    (data / "a.json").write_text('{"a": 1}\n{"a": 2}\n')
    cur = FakeSnow(db_path=str(tmp_path_factory.mktemp("db"))).connect().cursor()
    for statement in (
        "CREATE DATABASE IF NOT EXISTS raw",
        "CREATE SCHEMA IF NOT EXISTS raw.x",
        f"CREATE STAGE IF NOT EXISTS raw.x.st URL = 'file://{data}/'",
    ):
        cur.execute(statement)
    return cur, data


@pytest.fixture
def s3_session(tmp_path, monkeypatch):
    """fakesnow reading an S3 stage from a real moto server, as the local stack's emulator does."""
    import boto3
    import s3fs
    from moto.server import ThreadedMotoServer

    from local.settings import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    creds = {"aws_access_key_id": "k", "aws_secret_access_key": "s"}  # moto takes any
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **creds)
    s3.create_bucket(Bucket="landing")
    fs = s3fs.S3FileSystem(
        key="k",
        secret="s",
        endpoint_url=endpoint,
        use_listings_cache=False,  # noqa: S106
    )
    snow = FakeSnow(db_path=str(tmp_path))
    snow.duck_conn.register_filesystem(fs)
    monkeypatch.setitem(FILESYSTEMS, "s3", fs)
    install_patches()
    cur = snow.connect().cursor()
    for statement in (
        "CREATE DATABASE IF NOT EXISTS raw",
        "CREATE SCHEMA IF NOT EXISTS raw.x",
        "CREATE STAGE raw.x.landing URL = 's3://landing/landing/'",
        "CREATE TABLE raw.x.riots (src VARIANT)",
    ):
        cur.execute(statement)
    yield s3, cur
    # moto keeps its buckets per process, not per server: the next test starts empty.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    server.stop()
