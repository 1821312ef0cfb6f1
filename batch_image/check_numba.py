"""Fail unless numba's threading layer lets two threads run parallel kernels at once.

The worker's loader threads call statscore's ``parallel=True`` kernels (warp, morphology)
concurrently. numba's fallback ``workqueue`` layer aborts the whole process when that
happens, so the image needs libgomp (``omp``) or TBB (``tbb``). The Dockerfile runs this at
build time; tests/images runs it in the built image. Prints one JSON line; exit 1 on failure.
"""

from __future__ import annotations

import json
import sys
import threading

import numba
import numpy as np

from statscore.algo import bilinear_at, mask_cleanup

THREADSAFE = ("omp", "tbb")
ROUNDS = 6


def kernels(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One morphology and one warp call, as a loader thread makes them; their results."""
    rng = np.random.default_rng(seed)
    mask = mask_cleanup(rng.random((4, 256, 256)) > 0.5, [("closing", 2), ("opening", 1), ("dilation", 3)])
    planes = rng.integers(1, 10_000, (3, 256, 256)).astype(np.uint16)
    sx, sy = np.meshgrid(np.linspace(0, 255, 300), np.linspace(0, 255, 280))
    warped = bilinear_at(planes, sx, sy, 0, np.zeros((3, 280, 300), np.uint16))
    return np.asarray(mask), warped


def main() -> int:
    expected = [kernels(seed) for seed in (1, 2)]  # one thread: also fixes the layer
    barrier = threading.Barrier(2)
    results: dict[int, list[bool]] = {}

    def worker(i: int) -> None:
        barrier.wait()  # both threads enter the kernels together
        results[i] = [all(np.array_equal(a, b) for a, b in zip(kernels(i + 1), expected[i])) for _ in range(ROUNDS)]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    layer = numba.threading_layer()
    report = {"threading_layer": layer, "numba": numba.__version__, "threads": 2, "rounds": ROUNDS,
              "results_equal": all(all(r) for r in results.values()) and len(results) == 2}
    print(json.dumps(report))
    if layer not in THREADSAFE:
        print(f"check_numba: numba threading layer {layer!r} is not threadsafe (need one of {THREADSAFE}: "
              "install libgomp1 or tbb)", file=sys.stderr)
        return 1
    if not report["results_equal"]:
        print("check_numba: kernels run from two threads at once gave other results than one thread", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
