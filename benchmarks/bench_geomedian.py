"""Geomedian + MADs: ours vs geomad 1.0.0 and odc-algo 1.2.2, on one generated stack.

Stack: 1024 x 1024 px, 10 bands, 40 dates, ~30% cloudy (nodata 0), uint16 reflectance
DN with scale 1e-4 and offset -1e-4 (as odc-stats' gm plugins), eps 1e-5. Prints
px/s per core at 1 and 2 threads (best of N), the ratios against the targets, the JIT
compile time (cold, in a subprocess with an empty cache) and the cached load time, the
machine's measured float32 FMA rate and our ratio to the compute limit (52 flops per
valid observation per Weiszfeld iteration), and the peak RSS of a 3200 x 3200 x 10 x 70
uint16 tile processed with the default block budget (skipped with ``quick``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

SCALE, OFFSET, EPS = 1e-4, -1e-4, 1e-5
FLOPS_PER_OBS_ITER = 52


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------


def _pixels(rng: np.random.Generator, npx: int, nb: int, nt: int, cloudy: float) -> np.ndarray:
    """(npx, nb, nt) uint16 DN: per-pixel spectrum, a seasonal cycle, noise, some
    missed-cloud outliers, and ``cloudy`` of the dates erased to nodata 0."""
    base = rng.uniform(0.02, 0.45, size=(npx, nb, 1)).astype(np.float32)
    amp = rng.uniform(0.0, 0.08, size=(npx, nb, 1)).astype(np.float32)
    season = np.sin(np.linspace(0, 2 * np.pi, nt, dtype=np.float32))
    refl = base + amp * season + rng.standard_normal((npx, nb, nt), dtype=np.float32) * 0.02
    outlier = rng.random((npx, 1, nt), dtype=np.float32) < 0.08
    refl += outlier * rng.uniform(0.2, 0.6, size=(npx, 1, nt)).astype(np.float32)
    dn = np.clip(np.rint(refl * 1e4) + 1, 1, 65535).astype(np.uint16)
    dn *= (rng.random((npx, 1, nt), dtype=np.float32) >= cloudy)
    return dn


def make_stack(ny: int, nx: int, nb: int = 10, nt: int = 40, cloudy: float = 0.3,
               seed: int = 42) -> np.ndarray:
    """(y, x, band, time) uint16, generated row-block by row-block."""
    rng = np.random.default_rng(seed)
    out = np.empty((ny, nx, nb, nt), dtype=np.uint16)
    step = max(1, 2**18 // nx)
    for r0 in range(0, ny, step):
        r1 = min(ny, r0 + step)
        out[r0:r1] = _pixels(rng, (r1 - r0) * nx, nb, nt, cloudy).reshape(r1 - r0, nx, nb, nt)
    return out


def to_dataset(X: np.ndarray, chunks: tuple[int, int] | None = None):
    """yxbt -> Dataset of (time, y, x) bands with nodata 0 (as loaded by odc-stats)."""
    import xarray as xr

    ny, nx, nb, nt = X.shape
    data = {}
    for j in range(nb):
        a = np.ascontiguousarray(X[:, :, j, :].transpose(2, 0, 1))
        if chunks is not None:
            import dask.array as da

            a = da.from_array(a, chunks=(-1, *chunks))
        data[f"b{j:02d}"] = xr.DataArray(a, dims=("time", "y", "x"), attrs={"nodata": 0})
    return xr.Dataset(data, coords={"time": np.arange(nt), "y": np.arange(ny), "x": np.arange(nx)})


# --------------------------------------------------------------------------------------
# measurement helpers
# --------------------------------------------------------------------------------------


def best_of(n: int, fn: Callable[[], object]) -> tuple[float, object]:
    """Shortest wall time of ``n`` runs (other work on the machine only adds time)."""
    best, out = float("inf"), None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def best_cpu_of(n: int, fn: Callable[[], object]) -> float:
    """Shortest process CPU time of ``n`` single-threaded runs: unlike wall time it does
    not grow when other processes compete for the cores."""
    best = float("inf")
    for _ in range(n):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def fma_rate() -> float:
    """Sustained float32 FMA throughput of one core, flop/s (2 flops per FMA), by CPU time."""
    from numba import njit

    @njit(fastmath=True, cache=True)
    def kernel(a, b, c, reps):
        # 64 independent accumulators (several SIMD registers) hide FMA latency
        acc = np.empty(64, dtype=np.float32)
        for i in range(64):
            acc[i] = c[i]
        for _ in range(reps):
            for i in range(64):
                acc[i] = acc[i] * a[i] + b[i]
        s = np.float32(0)
        for i in range(64):
            s += acc[i]
        return s

    a = np.full(64, 0.999999, dtype=np.float32)
    b = np.full(64, 1e-7, dtype=np.float32)
    c = np.ones(64, dtype=np.float32)
    kernel(a, b, c, 10)
    reps = 2_000_000
    # CPU time, like the 1-thread kernel times it is compared with: wall time on a
    # shared machine measures the other processes too (it read 4.4 instead of ~24)
    t = best_cpu_of(5, lambda: kernel(a, b, c, reps))
    return 2.0 * 64 * reps / t


def jit_times() -> tuple[float, float]:
    """(cold compile s, cached load s) of the kernels, each in a fresh interpreter."""
    code = (
        "import time, numpy as np; t0 = time.perf_counter();"
        "from statscore.algo import geomedian_mads, nangeomedian_pcm;"
        "X = np.ones((2, 2, 3, 4), dtype=np.uint16);"
        "geomedian_mads(X, scale=1e-4, offset=-1e-4, num_threads=1);"
        "nangeomedian_pcm(X, scale=1e-4, offset=-1e-4, num_threads=1);"
        "print(time.perf_counter() - t0)"
    )
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d)
        cold = float(subprocess.check_output([sys.executable, "-c", code], env=env))
        warm = float(subprocess.check_output([sys.executable, "-c", code], env=env))
    return cold, warm


# --------------------------------------------------------------------------------------
# the implementations
# --------------------------------------------------------------------------------------


def run_ours_gm(X, threads):
    from statscore.algo import nangeomedian_pcm

    return nangeomedian_pcm(X, eps=EPS, scale=SCALE, offset=OFFSET, num_threads=threads)


def run_ours_all(X, threads):
    from statscore.algo import geomedian_mads

    return geomedian_mads(X, eps=EPS, scale=SCALE, offset=OFFSET, num_threads=threads)


def run_ours_xr(ds, threads):
    from statscore.algo import geomedian_with_mads

    return geomedian_with_mads(ds, eps=EPS, scale=SCALE, offset=OFFSET, num_threads=threads)


def run_geomad(X, threads):
    import geomad

    return geomad.nangeomedian_pcm(X, eps=EPS, maxiters=1000, scale=SCALE, offset=OFFSET,
                                   num_threads=threads)


def run_odc_algo(ds, threads):
    """As odc-stats' gm plugins call it (num_threads=1 per task, Dask threads for
    parallelism, reshape 'mem'); work_chunks must divide the tile, so 256 here."""
    import dask
    from odc.algo import geomedian_with_mads

    with dask.config.set(scheduler="threads", num_workers=threads):
        gm = geomedian_with_mads(
            ds, maxiters=1000, num_threads=1, scale=SCALE, offset=-1 * SCALE,
            reshape_strategy="mem", out_chunks=(-1, -1, -1), work_chunks=(256, 256),
            compute_count=True, compute_mads=True,
        )
        return gm.compute()


# --------------------------------------------------------------------------------------
# big tile peak memory (subprocess)
# --------------------------------------------------------------------------------------

_BIG = (3200, 3200, 10, 70)


def _big_tile_child(path: str) -> None:
    """Generate the big tile into a memmap file row block by row block, then process
    it with the default block budget; print JSON with times and peak RSS."""
    import resource

    import xarray as xr

    from statscore.algo import DEFAULT_BLOCK_BYTES, geomedian_with_mads

    ny, nx, nb, nt = _BIG
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint16, shape=(nb, nt, ny, nx))
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    # one generated block of 64 rows, written at every row offset rolled by a random
    # number of columns: statistically the same stack at memory-write speed
    step = 64
    block = _pixels(rng, step * nx, nb, nt, 0.3).reshape(step, nx, nb, nt).transpose(2, 3, 0, 1)
    block = np.ascontiguousarray(block)
    for r0 in range(0, ny, step):
        h = min(step, ny - r0)
        mm[:, :, r0:r0 + h, :] = np.roll(block[:, :, :h], int(rng.integers(nx)), axis=3)
    mm.flush()
    del mm
    gen_s = time.perf_counter() - t0
    # drop the generator's pages: re-open read-only so only what processing touches counts
    os.posix_fadvise(os.open(path, os.O_RDONLY), 0, 0, os.POSIX_FADV_DONTNEED)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    mm = np.load(path, mmap_mode="r")
    ds = xr.Dataset({f"b{j:02d}": xr.DataArray(mm[j], dims=("time", "y", "x"),
                                                attrs={"nodata": 0}) for j in range(nb)})
    # measure the peak of processing alone: reset the high-water mark
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    t0 = time.perf_counter()
    out = geomedian_with_mads(ds, eps=EPS, scale=SCALE, offset=OFFSET)
    run_s = time.perf_counter() - t0
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))
    print(json.dumps({
        "gen_s": gen_s, "run_s": run_s, "peak_rss": hwm, "rss_before": rss_before,
        "input_bytes": int(np.prod(_BIG)) * 2, "block_bytes": DEFAULT_BLOCK_BYTES,
        "mean_count": float(out["count"].mean()),
    }))


def big_tile() -> dict:
    with tempfile.TemporaryDirectory(dir=os.environ.get("STATSCORE_BENCH_DIR")) as d:
        out = subprocess.check_output(
            [sys.executable, "-c",
             "import sys; from benchmarks.bench_geomedian import _big_tile_child;"
             "_big_tile_child(sys.argv[1])", os.path.join(d, "tile.npy")],
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
    return json.loads(out.decode().strip().splitlines()[-1])


# --------------------------------------------------------------------------------------


def main(quick: bool = False) -> None:
    import numba

    n = 256 if quick else 1024
    reps_ours, reps_ref = (2, 1) if quick else (5, 2)
    npx = n * n
    print(f"stack {n} x {n} px, 10 bands, 40 dates, ~30% cloudy, uint16 scale {SCALE} "
          f"offset {OFFSET}, eps {EPS}; best of {reps_ours} (ours) / {reps_ref} (references)")

    cold, warm = jit_times()
    print(f"JIT: cold compile {cold:.1f} s, load from cache {warm:.2f} s (not in timings below)")

    X = make_stack(n, n)
    ds = to_dataset(X)
    run_ours_all(X[:2, :2], 1)  # load kernels
    numba_layer = numba.threading_layer()
    rows = []

    def rate(t, threads):
        return npx / t / threads

    # rounds alternate implementations and thread counts, so a burst of other load on
    # the machine hits one run of each rather than every run of one; best of the rounds
    dds = to_dataset(X, chunks=(n, n))
    runs = {
        "ours_gm": (lambda th: run_ours_gm(X, th), reps_ours),
        "ours_all": (lambda th: run_ours_all(X, th), reps_ours),
        "ours_xr": (lambda th: run_ours_xr(ds, th), reps_ours),
        "geomad": (lambda th: run_geomad(X, th), reps_ref),
        "odc_algo": (lambda th: run_odc_algo(dds, th), reps_ref),
    }
    res = {}
    for rnd in range(reps_ours):
        for key, (fn, reps) in runs.items():
            if rnd >= reps:
                continue
            for th in (1, 2):
                t, out = best_of(1, lambda: fn(th))
                res[(key, th)] = min(res.get((key, th), float("inf")), t)
                if key == "ours_all" and th == 1:
                    all1 = out

    labels = {
        "ours_gm": "ours: geomedian (nangeomedian_pcm)",
        "ours_all": "ours: geomedian + 3 MADs + count (geomedian_mads)",
        "ours_xr": "ours: geomedian_with_mads (Dataset, blocks)",
        "geomad": "geomad 1.0.0 nangeomedian_pcm",
        "odc_algo": "odc-algo 1.2.2 geomedian_with_mads (odc-stats gm settings)",
    }
    cpu = {
        "ours_gm": best_cpu_of(3, lambda: run_ours_gm(X, 1)),
        "ours_all": best_cpu_of(3, lambda: run_ours_all(X, 1)),
        "ours_xr": best_cpu_of(3, lambda: run_ours_xr(ds, 1)),
        "geomad": best_cpu_of(reps_ref, lambda: run_geomad(X, 1)),
        "odc_algo": best_cpu_of(reps_ref, lambda: run_odc_algo(dds, 1)),
    }
    print(f"\nthreading layer: {numba_layer}")
    print("wall: best wall-clock time; cpu: best CPU time of the 1-thread run (robust to "
          "other load)")
    print(f"{'implementation':60s} {'1t wall':>8s} {'px/s/core':>10s} {'1t cpu':>7s} "
          f"{'px/s/core':>10s} {'2t wall':>8s} {'px/s/core':>10s} {'2t/1t':>6s}")
    for key, label in labels.items():
        t1, t2, c1 = res[(key, 1)], res[(key, 2)], cpu[key]
        print(f"{label:60s} {t1:8.2f} {rate(t1, 1):10.0f} {c1:7.2f} {rate(c1, 1):10.0f} "
              f"{t2:8.2f} {rate(t2, 2):10.0f} {t1 / t2:6.2f}")

    def check(name, value, target):
        print(f"  {name:55s} {value:6.2f}x  (target >= {target}x: "
              f"{'met' if value >= target else 'NOT met'})")

    print("\nratios (wall)")
    check("geomedian vs geomad, 1 thread", res[("geomad", 1)] / res[("ours_gm", 1)], 3)
    check("geomedian vs geomad, 2 threads", res[("geomad", 2)] / res[("ours_gm", 2)], 3)
    check("gm + MADs + count vs odc-algo, 1 thread", res[("odc_algo", 1)] / res[("ours_all", 1)], 6)
    check("gm + MADs + count vs odc-algo, 2 threads", res[("odc_algo", 2)] / res[("ours_all", 2)], 6)
    check("Dataset gm_with_mads vs odc-algo, 1 thread", res[("odc_algo", 1)] / res[("ours_xr", 1)], 6)
    check("ours 2 threads vs 1 thread (gm + MADs + count)", res[("ours_all", 1)] / res[("ours_all", 2)], 1.8)
    check("ours 2 threads vs 1 thread (geomedian)", res[("ours_gm", 1)] / res[("ours_gm", 2)], 1.8)
    print("ratios (1-thread CPU time)")
    check("geomedian vs geomad", cpu["geomad"] / cpu["ours_gm"], 3)
    check("gm + MADs + count vs odc-algo", cpu["odc_algo"] / cpu["ours_all"], 6)
    check("Dataset gm_with_mads vs odc-algo", cpu["odc_algo"] / cpu["ours_xr"], 6)

    valid_iters = float((all1.count.astype(np.int64) * all1.iterations).sum())
    flops = FLOPS_PER_OBS_ITER * valid_iters
    fma = fma_rate()
    limit_1 = flops / fma
    print(f"\ncompute limit: mean {all1.count.mean():.1f} valid obs/px, mean "
          f"{all1.iterations.mean():.1f} iterations/px (p99 {np.percentile(all1.iterations, 99):.0f}, "
          f"max {all1.iterations.max()}), {flops / 1e9:.2f} GFLOP at 52 flop/obs/iter")
    print(f"  measured f32 FMA rate: {fma / 1e9:.1f} GFLOP/s/core -> limit {limit_1:.2f} s on 1 core")
    print(f"  geomedian alone at {limit_1 / res[('ours_gm', 1)]:.0%} of the limit (1 thread), "
          f"{limit_1 / 2 / res[('ours_gm', 2)]:.0%} (2 threads)")
    print(f"  geomedian + MADs + count at {limit_1 / res[('ours_all', 1)]:.0%} of the limit (1 thread)")
    print(f"  by 1-thread CPU time: geomedian {limit_1 / cpu['ours_gm']:.0%}, "
          f"geomedian + MADs + count {limit_1 / cpu['ours_all']:.0%} of the limit")

    if quick:
        print("\nbig tile (3200 x 3200 x 10 x 70 uint16) peak memory: skipped (--quick)")
        return
    print("\nbig tile 3200 x 3200 x 10 bands x 70 dates uint16 (memmap input, default block budget):")
    b = big_tile()
    gib = 2**30
    print(f"  generated in {b['gen_s']:.0f} s; processed in {b['run_s']:.1f} s "
          f"({_BIG[0] * _BIG[1] / b['run_s'] / 2:.0f} px/s/core on 2 threads), mean count "
          f"{b['mean_count']:.1f}")
    print(f"  input {b['input_bytes'] / gib:.2f} GiB, block budget {b['block_bytes'] / 2**20:.0f} MiB,"
          f" peak RSS {b['peak_rss'] / gib:.2f} GiB = input + "
          f"{(b['peak_rss'] - b['input_bytes']) / gib:.2f} GiB (target: input + 2 GiB: "
          f"{'met' if b['peak_rss'] < b['input_bytes'] + 2 * gib else 'NOT met'})")
