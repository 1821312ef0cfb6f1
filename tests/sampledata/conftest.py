"""Small generated sample data, written once per test session (a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from statscore.sampledata import SceneRecord, generate_scenes, write_products

SIZE = 48
"""Pixels across a scene's finest grid in these tests (S2 20 m bands get half)."""


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sampledata")


@pytest.fixture(scope="session")
def product_paths(sample_root: Path) -> dict[str, Path]:
    return write_products(sample_root / "products")


@pytest.fixture(scope="session")
def s2_scenes(sample_root: Path) -> list[SceneRecord]:
    """January 2020 of Sentinel-2 west of Sydney: tiles in UTM zones 55 and 56."""
    return generate_scenes(sample_root, product="s2_l2a", region="au-se-small",
                           start="2020-01-01", end="2020-01-31", size_px=SIZE, seed=3)


@pytest.fixture(scope="session")
def ard_scenes(sample_root: Path) -> list[SceneRecord]:
    """Two months of DEA-style Landsat 8 ARD over the same area."""
    return generate_scenes(sample_root, product="ga_ls8c_ard_3", region="au-se-small",
                           start="2020-01-01", end="2020-02-29", size_px=SIZE, seed=3)


@pytest.fixture(scope="session")
def c2_scenes(sample_root: Path) -> list[SceneRecord]:
    """Two months of USGS Collection 2 Level-2 Landsat 8."""
    return generate_scenes(sample_root, product="ls8_c2l2_sr", region="au-se-small",
                           start="2020-01-01", end="2020-02-29", size_px=SIZE, seed=3)


@pytest.fixture(scope="session")
def all_scenes(s2_scenes, ard_scenes, c2_scenes) -> list[SceneRecord]:
    return [*s2_scenes, *ard_scenes, *c2_scenes]
