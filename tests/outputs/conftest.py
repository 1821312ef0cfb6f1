"""Small real inputs for the output writers: a task on a 512 x 512 corner of an au_10 tile
with two source datasets, and a result of three uint16 bands and one float32 band."""

from __future__ import annotations

import copy
import uuid
import numpy as np
import pytest
import xarray as xr
from datacube.metadata._utils import EO3_MD_TYPE
from datacube.model import Dataset, Product
from datacube.index.eo3 import prep_eo3
from odc.geo.xr import xr_coords

from statscore.grid import GRIDS
from statscore.model import OutputProduct, Task
from statscore.period import Period
from statscore.task import TileIdx

BANDS = ("red", "green", "blue", "smad")
SHAPE = (512, 512)


SOURCE_PRODUCT = {
    "name": "s2_l2a", "metadata_type": "eo3", "description": "source",
    "metadata": {"product": {"name": "s2_l2a"}},
    "measurements": [{"name": "red", "dtype": "uint16", "nodata": 0, "units": "1"}],
}


def source_doc(platform: str, day: int) -> dict:
    """A source eo3 document (indexable with SOURCE_PRODUCT)."""
    return {
        "$schema": "https://schemas.opendatacube.org/dataset",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"source-{platform}-{day}")),
        "product": {"name": "s2_l2a"},
        "crs": "epsg:3577",
        "grids": {"default": {"shape": [10, 10], "transform": [10, 0, 2016000, 0, -10, -3072000, 0, 0, 1]}},
        "properties": {"datetime": f"2015-03-{day:02d}T01:00:00Z", "eo:platform": platform,
                       "eo:instrument": "MSI", "odc:region_code": "55HBU"},
        "measurements": {"red": {"path": "red.tif"}},
        "lineage": {},
    }


SOURCE_DOCS = (source_doc("sentinel-2a", 3), source_doc("sentinel-2b", 8))


@pytest.fixture(scope="session")
def sources() -> tuple[Dataset, ...]:
    product = Product(EO3_MD_TYPE, SOURCE_PRODUCT)
    return tuple(Dataset(product, prep_eo3(copy.deepcopy(d)), uri=f"file:///nowhere/{d['id']}.odc-metadata.yaml")
                 for d in SOURCE_DOCS)


@pytest.fixture
def make_task(sources):
    """``make_task(location)`` -> a Task writing under ``location`` (path, file:// or s3://)."""

    def make(location: str, *, short_name: str = "ga_s2_gm_cyear_3", bands=BANDS,
             collections_site: str = "collections.dea.ga.gov.au", name: str = "ga_s2_gm_cyear_3") -> Task:
        product = OutputProduct(
            name=name, version="1.0.0", short_name=short_name,
            location=location, measurements=tuple(bands), producer="ga.gov.au", maturity="final",
            product_family="geomedian", collections_site=collections_site,
        )
        gbox = GRIDS["au_10"].tile_geobox((49, 24))[: SHAPE[0], : SHAPE[1]]
        return Task(product, TileIdx("2015--P1Y", 49, 24), gbox, Period.parse("2015--P1Y"), sources)

    return make


def make_result(task: Task, seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    coords = xr_coords(task.geobox)
    yy, xx = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    out = {}
    for i, band in enumerate(("red", "green", "blue")):
        v = (500 + 20 * i + 3 * xx + 2 * yy + rng.integers(0, 50, SHAPE)).astype("uint16")
        v[:16, :16] = 0  # nodata corner
        out[band] = xr.DataArray(v, dims=("y", "x"), coords=coords, attrs={"nodata": 0, "units": "1"})
    smad = (rng.random(SHAPE, dtype="float32") * 1e-3).astype("float32")
    smad[:16, :16] = np.nan
    out["smad"] = xr.DataArray(smad, dims=("y", "x"), coords=coords, attrs={"nodata": float("nan"), "units": "1"})
    return xr.Dataset(out)


def make_rgba(task: Task) -> xr.DataArray:
    from odc.algo import to_rgba

    return to_rgba(make_result(task), clamp=(0, 3000), bands=("red", "green", "blue"))


