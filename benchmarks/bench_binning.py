"""Binning throughput: ours on 1,000,000 generated footprints vs odc-stats 1.9.14's own
binning functions (odc-dscache ``bin_dataset_stream`` + odc-stats ``bin_annual``).

odc-stats bins one dataset at a time (about 10^3-10^4 datasets/s), so it runs on a
subset of the same input (the first ``REF_N`` footprints); its throughput is what is
compared. Both results are checked to agree on that subset: odc-stats is given the
footprints densified to 100 km edges, as ours does internally and as datacube did when the
reference caches were made (current odc-geo reprojects vertices only).
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from statscore.binning import bin_datasets
from statscore.grid import GRIDS
from statscore.sampledata import synthetic_footprints

N = 1_000_000
REF_N = 20_000
GRID = "au_extended_s2_10"


def _ours(fp, n: int):
    gs = GRIDS[GRID]
    crs = np.array([f"EPSG:{e}" for e in fp.epsg[:n]], dtype=object)
    t0 = time.perf_counter()
    plan = bin_datasets(gs, fp.geometry[:n], crs, fp.datetime[:n], "annual")
    return plan, time.perf_counter() - t0


def _reference(fp, n: int, densify: bool = False):
    import shapely
    from odc.dscache.tools import bin_dataset_stream
    from odc.geo import Geometry
    from odc.stats.utils import bin_annual

    ids = fp.ids[:n]
    geoms = shapely.segmentize(fp.geometry[:n], 100_000.0) if densify else fp.geometry[:n]
    dss = [
        SimpleNamespace(id=ids[i], extent=Geometry(geoms[i], crs=f"EPSG:{int(fp.epsg[i])}"),
                        time=fp.datetime[i].astype("datetime64[us]").item())
        for i in range(n)
    ]
    cells: dict = {}
    t0 = time.perf_counter()
    for _ in bin_dataset_stream(GRIDS[GRID], dss, cells, persist=lambda ds: SimpleNamespace(id=ds.id, time=ds.time)):
        pass
    tasks = bin_annual(cells)
    return tasks, time.perf_counter() - t0


def main(quick: bool = False) -> None:
    n, ref_n = (100_000, 5_000) if quick else (N, REF_N)
    t0 = time.perf_counter()
    fp = synthetic_footprints(n, product="s2_l2a", region="australia")
    print(f"generated {n:,d} Sentinel-2 footprints in {time.perf_counter() - t0:.1f} s "
          f"({len(np.unique(fp.epsg))} UTM zones), grid {GRID}")

    _ours(fp, 1000)  # warm-up (imports, pyproj set-up)
    plan, t_ours = _ours(fp, n)
    pairs = sum(len(m) for m in plan.members)
    print(f"ours:      {n:,d} datasets in {t_ours:.2f} s = {n / t_ours:,.0f} datasets/s "
          f"({len(plan):,d} tasks, {pairs:,d} dataset-task pairs)")

    ref_tasks, t_ref = _reference(fp, ref_n)
    print(f"odc-stats: {ref_n:,d} datasets in {t_ref:.2f} s = {ref_n / t_ref:,.0f} datasets/s")
    ref_tasks, _ = _reference(fp, ref_n, densify=True)
    sub, _ = _ours(fp, ref_n)
    ids = fp.ids[:ref_n]
    ours_sub = {tuple(t): set(ids[m]) for t, m in zip(sub.tasks, sub.members)}
    ref_sub = {k: {d.id for d in v} for k, v in ref_tasks.items()}
    agree = ours_sub == ref_sub
    print(f"agreement on the {ref_n:,d}-dataset subset: {'identical tasks and ids' if agree else 'DIFFERENT'} "
          f"({len(ours_sub)} tasks)")
    import numba

    ratio = (n / t_ours) / (ref_n / t_ref)
    print(f"(ours used {numba.get_num_threads()} threads for the polygon-tile test; odc-stats is single-threaded)")
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    _, t_one = _ours(fp, n)
    numba.set_num_threads(threads)
    print(f"ours, 1 thread: {n / t_one:,.0f} datasets/s = {(n / t_one) / (ref_n / t_ref):.1f}x odc-stats")
    print(f"ratio ours/odc-stats throughput: {ratio:.1f}x (target >= 5x) {'PASS' if ratio >= 5 and agree else 'FAIL'}")
