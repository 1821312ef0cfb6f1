"""Plain float64 references written from the definitions, for the tests to compare with."""

from __future__ import annotations

import numpy as np


def valid_obs(pixel: np.ndarray, nodata=None) -> np.ndarray:
    """(band, time) -> (n_valid, band) float64 of observations with every band valid."""
    x = pixel.astype(np.float64)
    ok = np.all(np.isfinite(x), axis=0)
    if nodata is not None:
        ok &= np.all(pixel != nodata, axis=0)
    return x[:, ok].T


def geomedian(obs: np.ndarray, eps: float = 1e-9, maxiters: int = 100_000) -> np.ndarray:
    """Weiszfeld from the mean with the Vardi-Zhang step, float64, stop on ||step|| < eps."""
    if len(obs) == 0:
        return np.full(obs.shape[1], np.nan)
    y = obs.mean(axis=0)
    for _ in range(maxiters):
        d = np.sqrt(((obs - y) ** 2).sum(axis=1))
        away = d > 0
        if not away.any():
            return y
        w = 1.0 / d[away]
        T = (w[:, None] * obs[away]).sum(axis=0) / w.sum()
        eta = float((~away).sum())
        if eta:
            r = np.sqrt((((obs[away] - y) * w[:, None]).sum(axis=0) ** 2).sum())
            y1 = max(0.0, 1 - eta / r) * T + min(1.0, eta / r) * y
        else:
            y1 = T
        step = np.sqrt(((y1 - y) ** 2).sum())
        y = y1
        if step < eps:
            break
    return y


def objective(obs: np.ndarray, m: np.ndarray) -> float:
    return float(np.sqrt(((obs - m) ** 2).sum(axis=1)).sum())


def mads(obs: np.ndarray, m: np.ndarray) -> tuple[float, float, float]:
    """(smad, emad, bcmad) medians over observations, float64."""
    if len(obs) == 0:
        return (np.nan, np.nan, np.nan)
    s = 1 - (obs @ m) / (np.linalg.norm(obs, axis=1) * np.linalg.norm(m))
    e = np.linalg.norm(obs - m, axis=1)
    b = np.abs(obs - m).sum(axis=1) / np.abs(obs + m).sum(axis=1)
    return float(np.median(s)), float(np.median(e)), float(np.median(b))
