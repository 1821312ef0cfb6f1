"""What tasks used: measured in the process that computes a task, added up for a run, and
reported as CloudWatch metrics.

Per task (:class:`TaskUsage`, the task table's ``cpu_seconds``, ``wall_seconds``,
``peak_memory_bytes``, ``bytes_read``, ``observations``):

- CPU seconds: user + system time of the process that computed the task, all threads;
- wall seconds: load, reduce and write;
- peak memory: the process's peak resident set during the task (Linux resets the
  high-water mark per task through ``/proc/self/clear_refs``; elsewhere the process's
  peak so far);
- bytes read: for inputs on S3 or HTTP, what GDAL downloaded (its network statistics,
  ``VSINetworkStatsGetAsSerializedJSON``); for local files, what the process read with
  read() calls as Linux counts it (``rchar`` of ``/proc/self/io``, page cache hits
  included): the larger of the two, since ``rchar`` also sees part of GDAL's socket reads.
  Input COG bytes dominate; a process's first task also counts the Python modules it
  imports (a few MB);
- observations: valid pixel-observations the statistic used, summed over the tile (the
  plugin's count band: ``count``/``COUNT`` clear observations of a geomedian, ``total``
  observations of pq).

A run's usage (:func:`add_up`) sums them and prices the worker-hours.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..tasktable import USAGE_FIELDS
from .prices import WorkerPrice

__all__ = ["TaskUsage", "TaskMeter", "used_observations", "add_up", "emf_record", "USAGE_FIELDS",
           "METRICS_NAMESPACE"]

METRICS_NAMESPACE = "statscore"
"""CloudWatch namespace of the workers' metrics (TasksDone, TasksFailed, TaskSeconds)."""
OBSERVATION_BANDS = ("count", "COUNT", "total", "count_valid", "count_clear")
"""Output bands that count the observations a pixel's statistic used, first match wins."""


@dataclass(frozen=True)
class TaskUsage:
    """What one task used (see the module docstring for how each is measured)."""

    cpu_seconds: float
    wall_seconds: float
    peak_memory_bytes: int
    bytes_read: int
    observations: int | None = None

    def to_dict(self) -> dict[str, float | int]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskUsage:
        return cls(cpu_seconds=float(data.get("cpu_seconds", 0.0)), wall_seconds=float(data.get("wall_seconds", 0.0)),
                   peak_memory_bytes=int(data.get("peak_memory_bytes", 0)), bytes_read=int(data.get("bytes_read", 0)),
                   observations=int(data["observations"]) if data.get("observations") is not None else None)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _reset_peak() -> bool:
    """Reset the process's resident high-water mark (Linux >= 4.0); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB (macOS would be bytes)


def _rchar() -> int:
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _GdalNetwork:
    """GDAL's network statistics (``VSINetworkStatsGetAsSerializedJSON``, GDAL >= 3.2), read
    from the GDAL library rasterio loaded; bytes downloaded by /vsicurl/, /vsis3/..."""

    def __init__(self) -> None:
        self.fn: Any = None
        try:
            import ctypes

            import rasterio  # noqa: F401 - loads the library whose statistics we read

            path = _loaded_gdal()
            if path:
                lib = ctypes.CDLL(path)
                fn = lib.VSINetworkStatsGetAsSerializedJSON
                fn.restype = ctypes.c_void_p
                fn.argtypes = [ctypes.c_void_p]
                free = lib.VSIFree
                free.argtypes = [ctypes.c_void_p]
                self.fn, self.free = fn, free
                os.environ.setdefault("CPL_VSIL_NETWORK_STATS_ENABLED", "YES")
        except (OSError, AttributeError, ImportError):
            self.fn = None

    def downloaded(self) -> int:
        if self.fn is None:
            return 0
        import ctypes

        ptr = self.fn(None)
        if not ptr:
            return 0
        try:
            stats = json.loads(ctypes.string_at(ptr).decode())
        except ValueError:
            return 0
        finally:
            self.free(ptr)
        methods = stats.get("methods", {}) if isinstance(stats, dict) else {}
        return int(sum(m.get("downloaded_bytes", 0) for m in methods.values() if isinstance(m, dict)))


def _loaded_gdal() -> str | None:
    """Path of the libgdal this process has loaded (rasterio's wheel bundles its own)."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if line.strip() else ""
                if "libgdal" in os.path.basename(path):
                    return path
    except OSError:
        pass
    return None


_NETWORK: _GdalNetwork | None = None


def _network() -> _GdalNetwork:
    global _NETWORK
    if _NETWORK is None:
        _NETWORK = _GdalNetwork()
    return _NETWORK


class TaskMeter:
    """Measures one task in the process that computes it: ``with TaskMeter() as m: ...; m.usage()``.

    ``observations`` is set by the code that has the result (:func:`used_observations`).
    """

    def __init__(self) -> None:
        self.observations: int | None = None
        self._end: tuple[float, float, int, int, int] | None = None

    def __enter__(self) -> TaskMeter:
        net = _network()
        _reset_peak()
        self._start = (time.monotonic(), _cpu(), _rchar(), net.downloaded())
        return self

    def __exit__(self, *exc: Any) -> None:
        net = _network()
        self._end = (time.monotonic(), _cpu(), _rchar(), net.downloaded(), _peak_rss())

    def usage_dict(self) -> dict[str, float | int] | None:
        """:meth:`usage` as the task table's fields; None when the task never started."""
        return self.usage().to_dict() if hasattr(self, "_start") else None

    def usage(self) -> TaskUsage:
        end = self._end or (time.monotonic(), _cpu(), _rchar(), _network().downloaded(), _peak_rss())
        t0, c0, r0, n0 = self._start
        t1, c1, r1, n1, peak = end
        # rchar also counts part of GDAL's socket reads (measured: about half of a /vsis3/ read),
        # so the two are not added: the larger is the task's reads, all local or all remote
        network = max(0, n1 - n0)
        local = max(0, r1 - r0)
        return TaskUsage(cpu_seconds=round(c1 - c0, 3), wall_seconds=round(t1 - t0, 3), peak_memory_bytes=int(peak),
                         bytes_read=int(max(local, network)), observations=self.observations)


def used_observations(result: Any, plugin: Any) -> int | None:
    """Valid pixel-observations of a task's result: the sum of its count band (None without one)."""
    names = list(getattr(result, "data_vars", {}))
    band = next((b for b in OBSERVATION_BANDS if b in names), None)
    if band is None:
        return None
    values = np.asarray(result[band].values)
    nodata = (plugin.output_nodata() or {}).get(band) if hasattr(plugin, "output_nodata") else None
    valid = values >= 0 if nodata is None else (values != nodata) & (values >= 0)
    return int(values[valid].sum(dtype="i8"))


def significant(x: float, digits: int = 6) -> float:
    """``x`` to ``digits`` significant digits: a small run's worker-hours and dollars keep their
    precision (a fixed number of decimals rounds them away)."""
    return float(f"{x:.{digits}g}")


def add_up(rows: Iterable[Mapping[str, Any]], price: WorkerPrice | None) -> dict[str, Any]:
    """A run's ``usage`` (summary.json): sums over the tasks that recorded usage, the peak
    memory's maximum, worker-hours (task wall time) and their cost at ``price``."""
    n = 0
    tot = {"cpu_seconds": 0.0, "wall_seconds": 0.0, "peak_memory_bytes": 0, "bytes_read": 0, "observations": 0}
    for r in rows:
        if r.get("wall_seconds") is None:
            continue
        n += 1
        tot["cpu_seconds"] += float(r.get("cpu_seconds") or 0.0)
        tot["wall_seconds"] += float(r["wall_seconds"])
        tot["peak_memory_bytes"] = max(tot["peak_memory_bytes"], int(r.get("peak_memory_bytes") or 0))
        tot["bytes_read"] += int(r.get("bytes_read") or 0)
        tot["observations"] += int(r.get("observations") or 0)
    hours = tot["wall_seconds"] / 3600.0
    return {"tasks": n, "cpu_seconds": round(tot["cpu_seconds"], 3), "wall_seconds": round(tot["wall_seconds"], 3),
            "peak_memory_bytes": tot["peak_memory_bytes"], "bytes_read": tot["bytes_read"],
            "observations": tot["observations"], "worker_hours": significant(hours),
            "cost_usd": significant(hours * price.usd_per_hour) if price is not None else None,
            "prices": price.to_dict() if price is not None else None}


def emf_record(metrics: Mapping[str, tuple[float, str]], dimensions: Mapping[str, str],
               properties: Mapping[str, Any] | None = None, namespace: str = METRICS_NAMESPACE,
               timestamp_ms: int | None = None) -> str:
    """One CloudWatch Embedded Metric Format document (a JSON line): ``metrics`` name ->
    (value, unit) under ``dimensions``; ``properties`` ride along as searchable fields."""
    doc: dict[str, Any] = {
        "_aws": {"Timestamp": int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms),
                 "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [sorted(dimensions)],
                                        "Metrics": [{"Name": k, "Unit": u} for k, (_, u) in metrics.items()]}]},
        **{k: str(v) for k, v in dimensions.items()},
        **{k: v for k, (v, _) in metrics.items()},
    }
    for k, v in (properties or {}).items():
        doc.setdefault(k, v)
    return json.dumps(doc, separators=(",", ":"))
