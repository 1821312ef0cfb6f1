"""A real STAC API on 127.0.0.1 for the tests and benchmarks: stac-fastapi-pgstac on PostgreSQL.

``StacServer(admin_url)`` creates a database of its own on the PostgreSQL server (PostGIS
from the Debian package ``postgresql-15-postgis-3``), migrates pgstac into it with pypgstac,
starts the API with uvicorn as a subprocess on a free port, and on :meth:`stop` ends the
server and drops the database. Collections and items are bulk-loaded with pypgstac's loader.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

__all__ = ["StacServer", "collection_doc"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collection_doc(collection_id: str, description: str = "") -> dict[str, Any]:
    """A minimal valid STAC collection (pgstac needs one before its items)."""
    return {
        "type": "Collection", "stac_version": "1.0.0", "id": collection_id,
        "description": description or f"{collection_id} (statscore test data)", "license": "proprietary",
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                   "temporal": {"interval": [["2015-06-27T00:00:00Z", None]]}},
        "links": [],
    }


class StacServer:
    """stac-fastapi-pgstac serving a database of its own (see the module docstring)."""

    def __init__(self, admin_url: str, *, log_dir: Path | None = None) -> None:
        self.admin_url = admin_url
        self.dbname = f"statscore_stac_{uuid.uuid4().hex[:10]}"
        self.dsn = f"{admin_url.rsplit('/', 1)[0]}/{self.dbname}"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = (log_dir or Path("/tmp")) / f"{self.dbname}.log"
        self._proc: subprocess.Popen | None = None
        self._created = False

    def _admin(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def start(self, timeout_s: float = 90.0) -> StacServer:
        from pypgstac.db import PgstacDB
        from pypgstac.migrate import Migrate

        self._admin(f'CREATE DATABASE "{self.dbname}"')
        self._created = True
        with PgstacDB(dsn=self.dsn) as db:
            with db.connect().cursor() as cur:  # pgstac needs PostGIS (the Debian package postgresql-15-postgis-3)
                cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            Migrate(db).run_migration()
            with db.connect().cursor() as cur:  # count matches (numberMatched), as Earth Search does: Enumerate's choice
                cur.execute("INSERT INTO pgstac.pgstac_settings (name, value) VALUES ('context', 'on') "
                            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value")
        u = urlparse(self.dsn)
        env = dict(os.environ, PGUSER=u.username or "postgres", PGPASSWORD=u.password or "unused",
                   PGHOST=u.hostname or "127.0.0.1", PGPORT=str(u.port or 5432), PGDATABASE=self.dbname,
                   STAC_FASTAPI_TITLE="statscore test STAC API", STAC_FASTAPI_DESCRIPTION="pgstac",
                   STAC_FASTAPI_LANDING_ID="statscore-test", STAC_FASTAPI_VERSION="1")
        log = open(self.log_path, "wb")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "stac_fastapi.pgstac.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"stac-fastapi-pgstac exited ({self._proc.returncode}): "
                                   f"{self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"stac-fastapi-pgstac did not answer on {self.url} in {timeout_s:.0f} s")
            time.sleep(0.3)

    def load(self, collections: Iterable[dict[str, Any]], items: Iterable[dict[str, Any]]) -> None:
        """Bulk-load collections then items (pypgstac's loader, as one would load a real catalogue)."""
        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader, Methods

        with PgstacDB(dsn=self.dsn) as db:
            loader = Loader(db=db)
            loader.load_collections(iter(list(collections)), insert_mode=Methods.upsert)
            loader.load_items(iter(items), insert_mode=Methods.insert)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._created:
            self._admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        f"WHERE datname = '{self.dbname}' AND pid <> pg_backend_pid()")
            self._admin(f'DROP DATABASE IF EXISTS "{self.dbname}"')
            self._created = False

    def __enter__(self) -> StacServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
