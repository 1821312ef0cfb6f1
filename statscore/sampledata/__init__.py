"""Synthetic Sentinel-2 and Landsat sample data for tests, the demo and benchmarks.

Realistic where planning and compositing care (UTM CRSs in several zones, MGRS and
WRS-2 footprints with nodata edges, 5/16-day revisits, ~10:00 solar-time passes,
seasonal land cover spectra, clouds with matching mask classes), small where tests
care (``size_px`` pixels across a scene). Deterministic by seed.

- ``write_products(out_dir)``: eo3 product definitions of ``s2_l2a``,
  ``ga_ls8c_ard_3``, ``ls8_c2l2_sr`` and the ARD derivatives ``ga_ls_wo_3`` (water
  observations) and ``ga_ls_fc_3`` (fractional cover).
- ``generate_scenes(out_dir, product=..., region=..., start=..., end=...)``: COGs,
  eo3 documents and STAC items; returns a ``SceneRecord`` per scene.
- ``synthetic_footprints(n)``: n footprints, ids and times in memory, vectorised.
"""

from statscore.sampledata.footprints import FootprintSet, synthetic_footprints
from statscore.sampledata.products import PRODUCTS, Product, get_product, product_definition, write_products
from statscore.sampledata.regions import DEFAULT_REGION, REGIONS, Region
from statscore.sampledata.scenes import SceneRecord, generate_scenes

__all__ = [
    "DEFAULT_REGION",
    "PRODUCTS",
    "REGIONS",
    "FootprintSet",
    "Product",
    "Region",
    "SceneRecord",
    "generate_scenes",
    "get_product",
    "product_definition",
    "synthetic_footprints",
    "write_products",
]
