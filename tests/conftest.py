"""Shared fixtures: real inputs (copies of odc-stats caches, a PostgreSQL database)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


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
