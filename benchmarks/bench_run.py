"""One tile end to end, ours vs odc-stats 1.9.14, same inputs and cache, same run: wall
time and peak memory ratios for gm-s2 and pq at several tile sizes, and the outputs compared.

Inputs: native 10 m Sentinel-2 L2A scenes of one MGRS tile (56HLH), 40 dates, and one
tile of a custom ``epsg:32756;10;<size>`` grid inside them, for sizes 256 to 2048 px
(2048: the scale the issue gives, odc-stats 145 s and 6.6 GiB on these 2 cores), and a
1024 px tile of an ``epsg:3577`` grid over the 2048 px scenes (every group warped, as
DEA's Sentinel-2 tiles are). The
scenes are written once per size under ``bench-output/run/`` and reused by later runs
(about 40 minutes in all the first time, most of it for 2048). odc-stats is given
``work_chunks: [512, 512]`` (it fails at 2048 px without it). 2 threads each; the whole
process (start-up included) is timed, and peak memory is the resident set of the
process tree sampled every 50 ms. ``--quick``: 256 px, 12 dates.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from benchmarks._runscene import compare, make_task, ours_cmd, ref_cmd, run_measured
from statscore.stages import PROFILE_ENV

SIZES, DATES = (256, 512, 1024, 2048), 40
ROOT = (Path(os.environ.get("STATSCORE_BENCH_DIR", "bench-output")) / "run").resolve()


def main(quick: bool = False) -> None:
    """``STATSCORE_BENCH_SIZES=512,2048`` picks sizes (default: all of ``SIZES``)."""
    sizes = [int(v) for v in os.environ.get("STATSCORE_BENCH_SIZES", "").split(",") if v] or list(SIZES)
    runs = [(256, 12)] if quick else [(px, DATES) for px in sizes]
    _warm_up()
    for tile, dates in runs:
        t0 = time.perf_counter()
        db = make_task(ROOT, tile, dates=dates)
        print(f"inputs: {tile} x {tile} px tile, {dates} dates, {_datasets(db)} datasets, ready in "
              f"{time.perf_counter() - t0:.0f} s ({ROOT})", flush=True)
        for plugin in ("gm-s2", "pq"):
            _compare_one(db, plugin, tile)
    if not quick and 2048 in sizes:  # the warp path, as DEA tiles Sentinel-2: UTM scenes onto Albers
        db = make_task(ROOT, 2048, dates=DATES, grid_crs="epsg:3577", grid_px=1024)
        print(f"inputs: a 1024 x 1024 px tile of epsg:3577;10;1024 over the 2048 px scenes, {DATES} dates",
              flush=True)
        _compare_one(db, "gm-s2", 1024, label="epsg:3577")
    _failure_exit()
    print("targets: >= 3x faster, <= 0.5x peak memory, a failed task exits within seconds")


def _warm_up() -> None:
    """One untimed run of each plugin (ours and the reference) on the small task: the numba
    kernels of a fresh checkout are compiled into its cache on first use (seconds per
    kernel, once per install, as the Batch image does at build time), and the files are
    read into the page cache as they would be for the timed runs."""
    db = make_task(ROOT, 256, dates=12)
    t0 = time.perf_counter()
    for plugin in ("gm-s2", "pq"):
        for name, cmd in (("ours", ours_cmd), ("ref", ref_cmd)):
            out = ROOT / f"warm-{name}-{plugin}"
            shutil.rmtree(out, ignore_errors=True)
            _, _, r = run_measured(cmd(db, plugin, out))
            if r.returncode != 0:
                raise SystemExit(f"warm-up {name} {plugin} failed: {r.stderr[-500:]}")
            shutil.rmtree(out, ignore_errors=True)
    print(f"warm-up (kernels compiled, not timed): {time.perf_counter() - t0:.0f} s", flush=True)


def _compare_one(db: Path, plugin: str, tile: int, label: str = "") -> None:
    tag = f"{tile}{'-' + label.replace(':', '') if label else ''}"
    ours_out, ref_out = ROOT / f"ours-{plugin}-{tag}", ROOT / f"ref-{plugin}-{tag}"
    for d in (ours_out, ref_out):
        shutil.rmtree(d, ignore_errors=True)
    launched = time.time()
    t_o, m_o, r_o = run_measured(ours_cmd(db, plugin, ours_out), env={PROFILE_ENV: "1"})
    t_r, m_r, r_r = run_measured(ref_cmd(db, plugin, ref_out, work_chunk=min(512, tile)))
    if r_o.returncode != 0 or r_r.returncode != 0:
        print(f"{plugin} {tile} px {label}: FAILED ours rc={r_o.returncode} {r_o.stderr[-500:]} ref rc={r_r.returncode} "
              f"{r_r.stderr[-500:]}")
        return
    cmp = compare(ours_out, ref_out)
    worst = max(cmp["bands"].items(), key=lambda kv: kv[1]["max_abs"])
    print(f"{plugin} {tile} px{' ' + label if label else ''}: ours {t_o:.1f} s {m_o / 2**30:.2f} GiB | odc-stats {t_r:.1f} s "
          f"{m_r / 2**30:.2f} GiB | speed-up {t_r / t_o:.1f}x, memory {m_o / m_r:.2f}x", flush=True)
    print(f"   same file names: {cmp['same_names']}, same dataset id: {cmp['same_id']}, "
          f"largest band difference: {worst[0]} {worst[1]['max_abs']:.3g} (99th pct {worst[1]['p99_abs']:.3g})",
          flush=True)
    print(f"   ours by stage: {stage_line(r_o.stderr, launched, t_o)}", flush=True)


def stage_line(stderr: str, launched: float, wall: float) -> str:
    """The ``statscore-profile`` line a run printed (``STATSCORE_PROFILE``), in words: wall
    seconds of start-up, loading, reducing and the rest (writing, exit); thread-seconds of
    the stages inside loading (on the loader threads) and of COG encoding."""
    line = next((ln for ln in stderr.splitlines() if ln.startswith("statscore-profile ")), None)
    if line is None:
        return "no profile printed"
    st = json.loads(line.split(" ", 1)[1])
    start = st.get("first-stage-at", launched) - launched
    load, red = st.get("load", 0.0), st.get("reduce", 0.0)
    inner = ", ".join(f"{k} {st[k]:.1f}" for k in ("read", "mask", "fuse", "reproject", "stack", "kernel")
                      if k in st and not (k == "kernel" and "stack" in st))
    kern = "" if "stack" not in st else " (the geomedian kernel)"
    return (f"start-up {start:.1f} s | load {load:.1f} s wall ({inner} thread-s) | reduce {red:.1f} s{kern} | "
            f"write and exit {wall - start - load - red:.1f} s (encode {st.get('encode', 0.0):.1f} thread-s)")


def _failure_exit() -> None:
    """Seconds from start to exit when the task's input is corrupt (one band COG truncated)."""
    db = make_task(ROOT, 256, dates=12)
    from datacube.storage import BandInfo

    from statscore.run import TaskReader

    reader = TaskReader(str(db))
    ids = sorted(next(iter(reader.tasks.values())))
    victim = Path(BandInfo(reader.cache.get(ids[len(ids) // 2]), "B04").uri.removeprefix("file://"))
    backup = victim.read_bytes()
    try:
        victim.write_bytes(backup[: len(backup) // 3])
        times = []
        for name in ("ours", "odc-stats"):
            out = ROOT / f"fail-{name}"
            shutil.rmtree(out, ignore_errors=True)
            cmd = ours_cmd(db, "gm-s2", out) if name == "ours" else ref_cmd(db, "gm-s2", out, work_chunk=256)
            t, _, r = run_measured(cmd, timeout=600)
            times.append(f"{name} exit {r.returncode} after {t:.1f} s")
    finally:
        victim.write_bytes(backup)
    print(f"failed task (a truncated input COG, 256 px): {'; '.join(times)}", flush=True)


def _datasets(db: Path) -> int:
    from statscore.run import TaskReader

    return sum(len(v) for v in TaskReader(str(db)).tasks.values())
