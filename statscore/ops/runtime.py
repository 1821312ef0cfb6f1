"""How long a task takes: a per-plugin linear model fitted on timed tasks.

``seconds = intercept + per_observation * pixel_observations + per_pixel * pixels``

per plugin and thread count. Loading (and masking, fusing) grows with the observations,
writing COGs with the pixels, and the intercept is the fixed cost of a task (opening
files, metadata). Coefficients are fitted by least squares and kept non-negative (the
best fit among the feature subsets whose coefficients are all >= 0), so a prediction
never falls below the intercept. The points a model was fitted on are kept with it, so
``odc-stats calibrate`` can add new timings and refit.

The model shipped with statscore (``runtime_model.yaml``) was calibrated on this
project's 2-core build machine (see its header); calibrate on the workers' instance type
for estimates of a real run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import ConfigError

__all__ = ["TimedTask", "PluginModel", "RuntimeModel", "default_model", "load_model", "fit"]


@dataclass(frozen=True)
class TimedTask:
    """One measured task: its size and how long it took."""

    pixels: int
    """Pixels of the output tile."""
    observations: int
    """Pixel-observations the task's datasets cover on the tile (see :mod:`statscore.ops.estimate`)."""
    seconds: float
    """Wall seconds of the task (load, reduce, write), as a worker records them."""
    task: str = ""
    datasets: int = 0


@dataclass(frozen=True)
class PluginModel:
    """Coefficients for one plugin at one thread count."""

    plugin: str
    threads: int
    intercept: float
    per_observation: float
    per_pixel: float
    points: tuple[TimedTask, ...] = ()
    calibrated: Mapping[str, Any] = field(default_factory=dict)
    """Where and when: machine, CPU, date, how the tasks were timed."""

    def seconds(self, pixels: float | np.ndarray, observations: float | np.ndarray) -> Any:
        """Predicted wall seconds of tasks of these sizes."""
        return self.intercept + self.per_observation * np.asarray(observations, "f8") + \
            self.per_pixel * np.asarray(pixels, "f8")

    def to_mapping(self) -> dict[str, Any]:
        return {"intercept": round(self.intercept, 6), "per_observation": float(f"{self.per_observation:.6g}"),
                "per_pixel": float(f"{self.per_pixel:.6g}"), "calibrated": dict(self.calibrated),
                "points": [{k: v for k, v in asdict(p).items() if v not in ("", 0) or k in ("pixels", "observations",
                                                                                         "seconds")}
                           for p in self.points]}


def fit(points: Sequence[TimedTask]) -> tuple[float, float, float]:
    """``(intercept, per_observation, per_pixel)``: least squares with every coefficient >= 0.

    Every subset of the two size features is fitted (with an intercept); the best fit
    whose coefficients are all non-negative wins. One point gives a constant.
    """
    if not points:
        raise ConfigError("calibration: no timed tasks to fit")
    y = np.array([p.seconds for p in points], "f8")
    feats = {"obs": np.array([p.observations for p in points], "f8"), "px": np.array([p.pixels for p in points], "f8")}
    best: tuple[float, tuple[float, float, float]] | None = None
    for r in range(0, 3):
        for names in itertools.combinations(("obs", "px"), r):
            cols = [np.ones_like(y)] + [feats[n] for n in names]
            a = np.column_stack(cols)
            # scale the columns so pixel counts (1e6-1e8) do not swamp the intercept
            scale = np.maximum(np.abs(a).max(axis=0), 1e-12)
            coef, *_ = np.linalg.lstsq(a / scale, y, rcond=None)
            coef = coef / scale
            if np.any(coef < 0):
                continue
            sse = float(np.sum((a @ coef - y) ** 2))
            full = {"obs": 0.0, "px": 0.0}
            full.update(zip(names, coef[1:]))
            cand = (float(coef[0]), float(full["obs"]), float(full["px"]))
            if best is None or sse < best[0] - 1e-12:
                best = (sse, cand)
    if best is None:  # every fit wants a negative intercept: fit through the origin on both features
        a = np.column_stack([feats["obs"], feats["px"]])
        coef, *_ = np.linalg.lstsq(a, y, rcond=None)
        coef = np.maximum(coef, 0.0)
        return 0.0, float(coef[0]), float(coef[1])
    return best[1]


@dataclass
class RuntimeModel:
    """Plugin -> thread count -> :class:`PluginModel`; read and written as YAML."""

    models: dict[str, dict[int, PluginModel]] = field(default_factory=dict)
    source: str = ""
    """Where the model was read from (for messages)."""

    def get(self, plugin: str, threads: int) -> PluginModel:
        """The model for ``plugin`` at ``threads``, else at the nearest thread count calibrated."""
        by_threads = self.models.get(plugin)
        if not by_threads:
            known = ", ".join(sorted(self.models)) or "none"
            raise ConfigError(f"runtime model {self.source or ''}: no calibration for plugin {plugin!r} "
                              f"(calibrated: {known}); run `odc-stats calibrate` for it")
        if threads in by_threads:
            return by_threads[threads]
        return by_threads[min(by_threads, key=lambda t: (abs(t - threads), -t))]

    def put(self, model: PluginModel) -> None:
        self.models.setdefault(model.plugin, {})[model.threads] = model

    def to_mapping(self) -> dict[str, Any]:
        return {"model": "seconds = intercept + per_observation * pixel_observations + per_pixel * pixels",
                "plugins": {p: {t: m.to_mapping() for t, m in sorted(by.items())} for p, by in sorted(self.models.items())}}

    def coefficients(self) -> dict[str, Any]:
        """The model without its points (small enough for an environment variable)."""
        return {"plugins": {p: {t: {"intercept": m.intercept, "per_observation": m.per_observation,
                                    "per_pixel": m.per_pixel} for t, m in by.items()}
                            for p, by in self.models.items()}}

    def write(self, path: str | Path, header: str = "") -> None:
        text = yaml.safe_dump(self.to_mapping(), sort_keys=False)
        Path(path).write_text((header.rstrip() + "\n" if header else "") + text, encoding="utf8")

    @classmethod
    def from_mapping(cls, data: Any, source: str = "") -> RuntimeModel:
        if not isinstance(data, Mapping) or not isinstance(data.get("plugins"), Mapping):
            raise ConfigError(f"runtime model {source}: expected a mapping with 'plugins' (as `odc-stats calibrate` writes)")
        out = cls(source=source)
        for plugin, by in data["plugins"].items():
            if not isinstance(by, Mapping):
                raise ConfigError(f"runtime model {source}: plugins.{plugin}: expected thread count -> coefficients")
            for threads, m in by.items():
                try:
                    pts = tuple(TimedTask(pixels=int(p["pixels"]), observations=int(p["observations"]),
                                          seconds=float(p["seconds"]), task=str(p.get("task", "")),
                                          datasets=int(p.get("datasets", 0))) for p in m.get("points", []) or [])
                    out.put(PluginModel(plugin=str(plugin), threads=int(threads), intercept=float(m["intercept"]),
                                        per_observation=float(m["per_observation"]), per_pixel=float(m["per_pixel"]),
                                        points=pts, calibrated=dict(m.get("calibrated") or {})))
                except (KeyError, TypeError, ValueError) as e:
                    raise ConfigError(f"runtime model {source}: plugins.{plugin}.{threads}: invalid ({e})") from None
        return out

    @classmethod
    def fitted(cls, plugin: str, threads: int, points: Iterable[TimedTask], calibrated: Mapping[str, Any],
               base: RuntimeModel | None = None) -> RuntimeModel:
        """``base`` (or an empty model) with ``plugin`` at ``threads`` fitted on ``points``."""
        pts = tuple(points)
        a, b, c = fit(pts)
        out = RuntimeModel(models={p: dict(by) for p, by in (base.models if base else {}).items()},
                           source=base.source if base else "")
        out.put(PluginModel(plugin, threads, a, b, c, pts, dict(calibrated)))
        return out


def default_model() -> RuntimeModel:
    """The model shipped with statscore (gm-s2 and pq, calibrated on the build machine)."""
    text = resources.files(__package__).joinpath("runtime_model.yaml").read_text(encoding="utf8")
    return RuntimeModel.from_mapping(yaml.safe_load(text), "statscore/ops/runtime_model.yaml")


def load_model(path: str | Path | None) -> RuntimeModel:
    """A model file written by ``odc-stats calibrate`` (None: the shipped model)."""
    if path is None:
        return default_model()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf8"))
    except OSError as e:
        raise ConfigError(f"runtime model {path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"runtime model {path}: not valid YAML ({str(e).splitlines()[0]})") from None
    return RuntimeModel.from_mapping(data, str(path))
