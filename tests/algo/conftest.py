"""Small synthetic stacks shaped like Sentinel-2 surface reflectance (y, x, band, time)."""

from __future__ import annotations

import numpy as np
import pytest


def make_stack(ny: int, nx: int, nb: int, nt: int, cloudy: float = 0.3,
               seed: int = 0) -> np.ndarray:
    """uint16 DN (reflectance * 1e4 + 1), nodata 0 for cloudy observations.

    Each pixel has its own spectrum that drifts over the season plus noise, and a few
    bright outliers (missed cloud) stay in, so the geomedian differs from the mean.
    """
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.02, 0.45, size=(ny, nx, nb, 1))
    season = np.sin(np.linspace(0, 2 * np.pi, nt))[None, None, None, :]
    amp = rng.uniform(0.0, 0.08, size=(ny, nx, nb, 1))
    refl = base + amp * season + rng.normal(0, 0.02, size=(ny, nx, nb, nt))
    outlier = rng.random((ny, nx, 1, nt)) < 0.08
    refl = np.where(outlier, refl + rng.uniform(0.2, 0.6, size=(ny, nx, 1, nt)), refl)
    dn = np.clip(np.rint(refl * 1e4) + 1, 1, 65535).astype(np.uint16)
    cloud = rng.random((ny, nx, 1, nt)) < cloudy
    dn[np.broadcast_to(cloud, dn.shape)] = 0
    return dn


@pytest.fixture(scope="session")
def stack_u16() -> np.ndarray:
    return make_stack(9, 11, 6, 17, seed=1)


@pytest.fixture(scope="session")
def stack_f32(stack_u16: np.ndarray) -> np.ndarray:
    """The same stack as float32 reflectance with NaN for missing."""
    x = stack_u16.astype(np.float32) * np.float32(1e-4) - np.float32(1e-4)
    x[stack_u16 == 0] = np.nan
    return x
