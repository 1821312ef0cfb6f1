"""``sources._fields.prime`` gives the id, centre time and extent datacube computes, read once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from datacube.model import Dataset

from statscore.cache import close_cache, open_cache
from statscore.sampledata.earthsearch import earth_search_footprint_items
from statscore.sources._fields import dataset_id, prime
from statscore.sources.profiles import load_profile
from statscore.sources.stac_api import ItemConverter

DATA = Path(__file__).resolve().parents[1] / "data"


def _same_as_datacube(primed: Dataset) -> None:
    fresh = Dataset(primed.product, primed.metadata_doc, uri=primed.uri)  # nothing cached: datacube's own reads
    assert dataset_id(primed) == str(fresh.id)
    assert primed.center_time == fresh.center_time
    assert primed.extent.crs == fresh.extent.crs and primed.extent.geom.equals_exact(fresh.extent.geom, 0)


def test_stac_items_from_an_api_as_datacube_reads_them() -> None:
    conv = ItemConverter(load_profile("earth-search-s2-l2a"))
    items = [json.loads(json.dumps(it)) for it in earth_search_footprint_items(50, start="2021-12-20")]
    for doc in items:
        ds = conv.dataset(doc, "test")
        assert "center_time" in ds.__dict__ and "extent" in ds.__dict__
        _same_as_datacube(ds)


def test_eo3_datasets_of_an_odc_stats_cache_as_datacube_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "ls8.db"
    shutil.copy(DATA / "ga_ls8c_ard_3_2015-01--P3M.db", path)
    try:
        datasets = list(open_cache(str(path)).get_all())
        assert len(datasets) > 10
        for ds in datasets:
            _same_as_datacube(prime(Dataset(ds.product, ds.metadata_doc, uri=ds.uri)))
    finally:
        close_cache(str(path))
