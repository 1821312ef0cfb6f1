"""Run every benchmark module (or those named) and print their reports.

Usage: ``python -m benchmarks [--quick] [NAME ...]``; NAME is a module suffix such as
``binning`` for ``bench_binning.py``. Each module measures ours and the reference in the
same run and prints the ratios.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import benchmarks
from benchmarks._reference import ReferenceMissing, use_reference


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    ap.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = ap.parse_args(argv)
    found = sorted(
        m.name[len("bench_"):]
        for m in pkgutil.iter_modules(benchmarks.__path__)
        if m.name.startswith("bench_")
    )
    try:
        use_reference()  # every benchmark measures against odc-stats 1.9.14
    except ReferenceMissing as e:
        print(e, file=sys.stderr)
        return 2
    names = args.names or found
    unknown = [n for n in names if n not in found]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {found}", file=sys.stderr)
        return 2
    for name in names:
        mod = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"=== {name} ===", flush=True)
        t0 = time.perf_counter()
        mod.main(quick=args.quick)
        print(f"=== {name}: {time.perf_counter() - t0:.1f} s ===\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
