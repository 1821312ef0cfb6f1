"""``python -m statscore.sampledata OUT_DIR``: write sample products and scenes."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from statscore.errors import StatsError
from statscore.sampledata import PRODUCTS, REGIONS, generate_scenes, write_products
from statscore.sampledata.regions import region_geometry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m statscore.sampledata",
        description="Write synthetic Sentinel-2 / Landsat scenes (COGs, eo3 documents, STAC items) "
        "and the eo3 product definitions.",
    )
    parser.add_argument("out_dir")
    parser.add_argument("--product", action="append", choices=sorted(PRODUCTS),
                        help="product to generate (repeatable; default s2_l2a)")
    parser.add_argument("--region", default="au-se", help=f"one of {', '.join(REGIONS)}, or lon0,lat0,lon1,lat1")
    parser.add_argument("--start", default="2020-01-01", help="first local solar date (YYYY-MM-DD)")
    parser.add_argument("--end", default="2020-12-31", help="last local solar date (YYYY-MM-DD)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=256, help="pixels across a scene's finest grid")
    parser.add_argument("--native", action="store_true", help="native 10/20/30 m pixels in a --size window")
    parser.add_argument("--cloudiness", type=float, default=0.33, help="mean cloud fraction scale (0 = none)")
    args = parser.parse_args(argv)

    region = args.region
    if "," in region:
        region = tuple(float(v) for v in region.split(","))
    try:
        region_geometry(region)
        for name, path in write_products(f"{args.out_dir}/products").items():
            print(f"product {name}: {path}")
        for product in args.product or ["s2_l2a"]:
            t0 = time.perf_counter()
            recs = generate_scenes(args.out_dir, product=product, region=region, start=args.start,
                                   end=args.end, seed=args.seed, size_px=args.size, native=args.native,
                                   cloudiness=args.cloudiness)
            tiles = Counter(r.region_code for r in recs)
            zones = sorted({r.crs for r in recs})
            print(f"{product}: {len(recs)} scenes, {len(tiles)} tiles ({', '.join(sorted(tiles))}), "
                  f"CRSs {', '.join(zones)}, {time.perf_counter() - t0:.1f} s")
            if recs:
                print(f"  first {recs[0].datetime:%Y-%m-%dT%H:%MZ} {recs[0].eo3_path}")
                print(f"  last  {recs[-1].datetime:%Y-%m-%dT%H:%MZ} {recs[-1].stac_path}")
    except (StatsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return getattr(err, "exit_code", 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
