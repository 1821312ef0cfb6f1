"""Shared fixtures: real inputs (copies of odc-stats caches, a PostgreSQL database)."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def pytest_configure(config: pytest.Config) -> None:
    """odc-stats 1.9.14, odc-algo and geomad (test references, kept out of the product's
    venv) become importable here; without them the run stops at once with the fix."""
    from benchmarks._reference import ReferenceMissing, use_reference

    try:
        use_reference()
    except ReferenceMissing as e:
        raise pytest.UsageError(str(e)) from None


@pytest.fixture(scope="session")
def stac_audit():
    """Every STAC item (and collection) the suite writes is validated once: see tests/stac_support.py."""
    from tests.stac_support import StacAudit

    return StacAudit()


@pytest.fixture(autouse=True)
def _written_stac_is_valid(stac_audit, tmp_path_factory):
    """After each test: the STAC documents new under this session's temporary folders (the
    test's own, and those of module or session fixtures it set up) must validate."""
    yield
    failures = stac_audit.scan_dir(tmp_path_factory.getbasetemp())
    if failures:
        pytest.fail("invalid STAC written:\n" + "\n".join(failures[:10]), pytrace=False)


@pytest.fixture
def ls8_cache(tmp_path: Path) -> Path:
    """odc-stats' own Landsat 8 cache: 2,470 real ARD documents, 1,487 tasks on au-30."""
    dst = tmp_path / "ga_ls8c_ard_3_2015-01--P3M.db"
    shutil.copy(DATA / "ga_ls8c_ard_3_2015-01--P3M.db", dst)
    return dst


@pytest.fixture
def s2_cache(tmp_path: Path) -> Path:
    """odc-stats' Sentinel-2 cache: 221 documents, one task on an EPSG:6933 10 m grid."""
    dst = tmp_path / "test_tiles.db"
    shutil.copy(DATA / "test_tiles.db", dst)
    return dst


@pytest.fixture
def pg_url() -> str:
    """A fresh, empty PostgreSQL database on the test server, dropped afterwards.

    ``make test`` sets STATSCORE_TEST_PG (starting a private server if none runs). Without
    it this fails loudly: these tests are never skipped.
    """
    admin = os.environ.get("STATSCORE_TEST_PG")
    if not admin:
        pytest.fail("STATSCORE_TEST_PG is not set: run the tests with `make test` (it provides PostgreSQL)")
    import psycopg2

    name = f"statscore_test_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint(stac_audit):
    """A moto S3 server over HTTP on localhost, for the whole session; the STAC documents on
    it are validated before it stops."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        yield url
        client = boto3.client("s3", endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing",
                              region_name="us-east-1")
        from tests.stac_support import fail_on_invalid_s3_stac

        fail_on_invalid_s3_stac(stac_audit, client, "moto S3")
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch, stac_audit):
    """A fresh bucket on the moto server; AWS_ENDPOINT_URL points boto3 at it."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"out-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    yield client, bucket
    from tests.stac_support import fail_on_invalid_s3_stac

    fail_on_invalid_s3_stac(stac_audit, client, "moto S3", buckets=[bucket])


@pytest.fixture(scope="session")
def aws_env(s3_endpoint):
    """The session's moto server and the environment that points boto3 (here and in the
    workers the tests start) at it."""
    env = {"AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
