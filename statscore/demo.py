"""``make demo``: the main job on an embedded default, no database and no cloud account.

Generates a few months of synthetic Sentinel-2 L2A scenes (COGs + eo3 + STAC) over
south-east Australia, plans monthly tasks on the ``au_extended_s2_20`` grid straight
from the STAC items, and prints where everything is.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .period import Period
from .plan import SaveTasksRequest, save_tasks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m statscore.demo")
    ap.add_argument("--out", default="demo-output", help="output folder (replaced)")
    ap.add_argument("--temporal-range", default="2020-01--P3M")
    ap.add_argument("--size-px", type=int, default=64, help="pixels across each generated scene")
    args = ap.parse_args(argv)
    console = Console()
    out = Path(args.out).absolute()
    period = Period.parse(args.temporal_range)

    from .sampledata import generate_scenes, write_products

    t0 = time.perf_counter()
    inputs = out / "inputs"
    write_products(inputs / "products")
    recs = generate_scenes(inputs / "data", product="s2_l2a", start=period.start.date(), end=period.end.date(),
                           size_px=args.size_px)
    t_gen = time.perf_counter() - t0
    console.print(f"generated {len(recs)} Sentinel-2 L2A scenes in {t_gen:.1f} s -> {inputs / 'data'}")

    t0 = time.perf_counter()
    db = out / "tasks" / f"s2_l2a_{period.short}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    req = SaveTasksRequest(output=str(db), grid="au_extended_s2_20", frequency="monthly", temporal_range=period,
                           input_products=f"{inputs / 'data'}/**/*.stac-item.json", overwrite=True)
    result = save_tasks(req, log=console.print)
    t_plan = time.perf_counter() - t0

    table = Table(title=f"save-tasks: {result.datasets} datasets -> {result.tasks} tasks ({t_plan:.1f} s, no database)")
    for col in ("period", "tiles", "dataset-tile pairs", "largest task"):
        table.add_column(col, justify="right")
    assert result.plan is not None
    for p in result.periods:
        sizes = [len(m) for t, m in zip(result.plan.tasks, result.plan.members) if t.period == p]
        table.add_row(p, str(len(sizes)), str(sum(sizes)), str(max(sizes)))
    console.print(table)
    console.print("outputs:")
    for f in result.files:
        console.print(f"  {f}")
    console.print("try: odc-stats save-tasks --help   (the cache opens in odc-stats 1.9 and odc-dscache too)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
