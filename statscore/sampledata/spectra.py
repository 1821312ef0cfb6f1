"""Surface reflectance of the synthetic world: land cover, seasons, clouds, shadows.

Everything is a smooth function of longitude and latitude (sums of plane waves with
seeded directions and phases), so overlapping scenes from different tiles, zones or
sensors see the same land cover, and scenes flown on the same day and track see the
same clouds.

Land covers, with typical reflectance spectra (x 10000, at the Sentinel-2 band
centres) and seasonal behaviour: water (dark, flat), forest (evergreen, small
seasonal amplitude), grass/crop (green peak in spring, dry and bright in summer),
bare soil (darker when moist in winter) and urban (flat, bright).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from statistics import NormalDist

import numpy as np

WAVELENGTHS_UM = np.array([0.490, 0.560, 0.665, 0.705, 0.740, 0.783, 0.842, 0.865, 1.610, 2.190])
"""Centres of the spectra below (Sentinel-2 B02..B12 without B01/B09/B10)."""


class LandCover(IntEnum):
    WATER = 0
    FOREST = 1
    CROP = 2
    BARE = 3
    URBAN = 4


_SPECTRA = {
    LandCover.WATER: [420, 520, 320, 260, 210, 190, 160, 150, 60, 40],
    LandCover.FOREST: [250, 450, 250, 700, 2000, 2600, 2900, 3000, 1500, 700],
    LandCover.BARE: [900, 1200, 1500, 1700, 1900, 2000, 2100, 2200, 2900, 2500],
    LandCover.URBAN: [1100, 1200, 1300, 1350, 1400, 1500, 1600, 1650, 1800, 1700],
}
_CROP_GREEN = np.array([300, 600, 300, 1100, 2800, 3400, 3800, 3900, 2000, 900], float)
_CROP_DRY = np.array([650, 950, 1150, 1400, 1800, 2000, 2200, 2300, 3100, 2400], float)
_CLOUD = np.array([6500, 6400, 6500, 6600, 6600, 6600, 6700, 6700, 5000, 3500], float)

BAND_GAIN_SD = 0.05
"""Spread of the per-day, per-band reflectance factors (``World.band_gains``)."""
CLOUD_SHADOW_FACTOR = 0.35
"""Reflectance multiplier in cloud shadow."""
SHADOW_OFFSET_KM = 1.5
"""How far a shadow falls from its cloud, away from the morning sun (toward the
south-west in the southern hemisphere, north-west in the northern)."""


class _Field:
    """A smooth random field of unit variance over lon/lat, seeded."""

    def __init__(self, seed: int, wavelengths_km: tuple[float, ...], n: int = 6):
        rng = np.random.default_rng(seed)
        k = []
        for wl in wavelengths_km:
            angle = rng.uniform(0, 2 * np.pi, n)
            k.append(np.column_stack([np.cos(angle), np.sin(angle)]) * (2 * np.pi / wl))
        self.k = np.vstack(k)
        self.phase = rng.uniform(0, 2 * np.pi, len(self.k))
        self.amp = np.repeat(np.asarray(wavelengths_km, float) ** 0.5, n)
        self.amp /= math.sqrt((self.amp**2).sum() / 2)

    def __call__(self, x_km: np.ndarray, y_km: np.ndarray) -> np.ndarray:
        out = np.zeros(np.shape(x_km), np.float32)
        for (kx, ky), ph, a in zip(self.k, self.phase, self.amp):
            out += np.float32(a) * np.cos(kx * x_km + ky * y_km + ph, dtype=np.float32)
        return out


def _km(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular kilometres: smooth and the same for every UTM zone."""
    return (lon * (111.32 * 0.8)).astype(np.float32), (lat * 110.57).astype(np.float32)


def pass_seed(seed: int, when: date, track: int) -> int:
    """A seed for everything that belongs to one satellite pass (same in every tile)."""
    return (seed * 1_000_003 + when.toordinal() * 1009 + track) % (2**31)


@dataclass(frozen=True)
class World:
    """The seeded synthetic landscape."""

    seed: int = 0

    def land_cover(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Land cover class (uint8) at each point."""
        x, y = _km(lon, lat)
        wet = _Field(self.seed * 7919 + 1, (1.5, 6.0, 25.0))(x, y)
        built = _Field(self.seed * 7919 + 2, (0.8, 4.0))(x, y)
        trees = _Field(self.seed * 7919 + 3, (0.6, 3.0, 12.0))(x, y)
        lc = np.full(np.shape(lon), LandCover.CROP, np.uint8)
        lc[trees > 0.3] = LandCover.FOREST
        lc[wet > 1.2] = LandCover.BARE
        lc[built > 1.6] = LandCover.URBAN
        lc[wet < -1.55] = LandCover.WATER
        return lc

    def reflectance(
        self, lon: np.ndarray, lat: np.ndarray, when: date, lc: np.ndarray | None = None
    ) -> np.ndarray:
        """Cloud-free surface reflectance x 10000, shape ``(10, *lon.shape)`` float32,
        in the order of ``WAVELENGTHS_UM`` (pass ``lc`` if already computed)."""
        lc = self.land_cover(lon, lat) if lc is None else lc
        doy = when.timetuple().tm_yday
        south = np.mean(lat) < 0
        peak = 260 if south else 170  # spring green-up
        green = 0.5 + 0.5 * math.cos(2 * math.pi * (doy - peak) / 365.25)
        winter = 0.5 + 0.5 * math.cos(2 * math.pi * (doy - (196 if south else 15)) / 365.25)
        out = np.empty((len(WAVELENGTHS_UM), *np.shape(lon)), np.float32)
        crop = green * _CROP_GREEN + (1 - green) * _CROP_DRY
        forest = np.asarray(_SPECTRA[LandCover.FOREST], float) * (0.92 + 0.16 * green)
        table = np.stack(
            [
                np.asarray(_SPECTRA[LandCover.WATER], float),
                forest,
                crop,
                np.asarray(_SPECTRA[LandCover.BARE], float) * (1.0 - 0.15 * winter),
                np.asarray(_SPECTRA[LandCover.URBAN], float),
            ]
        ).astype(np.float32)
        out[:] = np.moveaxis(table[lc], -1, 0)
        # Within-class texture, a few percent.
        x, y = _km(lon, lat)
        texture = _Field(self.seed * 7919 + 4, (0.3, 1.0))(x, y)
        out *= 1.0 + 0.04 * texture
        out *= self.band_gains(when).reshape(-1, *([1] * (out.ndim - 1)))
        return out

    def band_gains(self, when: date) -> np.ndarray:
        """Per-band reflectance factors of one day (float32, about 1 +- 3 %): what residual
        atmospheric and BRDF effects leave in real surface reflectance. Without them every
        pixel's observations would lie on one line in band space (each land cover is a
        fixed spectrum scaled by the season), where a geometric median of an even number
        of them is not unique and implementations legitimately disagree."""
        rng = np.random.default_rng(pass_seed(self.seed, when, 0) + 29)
        return (1.0 + BAND_GAIN_SD * rng.standard_normal(len(WAVELENGTHS_UM))).astype(np.float32)

    def clouds(
        self, lon: np.ndarray, lat: np.ndarray, when: date, track: int, cover: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cloud opacity (0..1, float32) and cloud shadow (bool) for one pass.

        ``cover`` is the expected cloudy fraction; the same (``when``, ``track``)
        gives the same clouds in every tile of that pass."""
        if cover <= 0:
            return np.zeros(np.shape(lon), np.float32), np.zeros(np.shape(lon), bool)
        field = _Field(pass_seed(self.seed, when, track), (2.0, 8.0, 30.0))
        threshold = NormalDist().inv_cdf(1.0 - min(cover, 0.999))
        x, y = _km(lon, lat)
        opacity = np.clip((field(x, y) - threshold) / 0.6, 0, 1)
        sign = -1.0 if np.mean(lat) < 0 else 1.0
        d = SHADOW_OFFSET_KM / math.sqrt(2)
        # Shadow at p where the cloud is at p + d toward the sun (north-east in the south).
        shadow = (field(x + d, y - sign * d) > threshold) & (opacity == 0)
        return opacity.astype(np.float32), shadow
