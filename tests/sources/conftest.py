"""Fixtures of the STAC API tests: Earth-Search-style scenes, and a real STAC API serving them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.stac_server import StacServer, collection_doc
from statscore.sampledata.earthsearch import earth_search_scenes

ES_REGION = (146.6, -36.6, 147.4, -36.0)
"""A small patch of south-east Australia: a few MGRS tiles, two UTM zones' worth of passes."""


@pytest.fixture(scope="session")
def es_scenes(tmp_path_factory) -> tuple[Path, list]:
    """Earth-Search ``sentinel-2-l2a`` scenes across the baseline 04.00 change (2022-01-25):
    the later ones carry the +1000 DN offset, as Earth Search serves them."""
    root = tmp_path_factory.mktemp("es")
    scenes = earth_search_scenes(root / "data", region=ES_REGION, start="2022-01-10", end="2022-02-20", size_px=48,
                                 cloudiness=0.2)
    assert any(s.offset_in_pixels for s in scenes) and not all(s.offset_in_pixels for s in scenes)
    return root, scenes


@pytest.fixture(scope="session")
def stac_api(es_scenes) -> str:
    """stac-fastapi-pgstac on 127.0.0.1 (its own database, dropped after) serving ``es_scenes``."""
    admin = os.environ.get("STATSCORE_TEST_PG")
    if not admin:
        pytest.fail("STATSCORE_TEST_PG is not set: run the tests with `make test` (it provides PostgreSQL)")
    server = StacServer(admin)
    try:
        server.start()
        server.load([collection_doc("sentinel-2-l2a"), collection_doc("sentinel-2-c1-l2a")],
                    (s.item for s in es_scenes[1]))
        yield server.url
    finally:
        server.stop()
