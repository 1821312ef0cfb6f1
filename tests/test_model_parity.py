"""Output names, folders and dataset ids are odc-stats 1.9.14's own (computed by its model)."""

from pathlib import Path

from odc.dscache import DatasetCache
from odc.stats.model import DateTimeRange
from odc.stats.model import OutputProduct as RefProduct
from odc.stats.model import Task as RefTask

from statscore.model import OutputProduct, Task
from statscore.period import Period
from statscore.task import TileIdx

DATA = Path(__file__).parent / "data"


def test_task_id_paths_and_prefix_match_odc_stats():
    cache = DatasetCache.open_ro(str(DATA / "ga_ls8c_ard_3_2015-01--P3M.db"))
    gs = cache.grids["au-30"]
    name, group = next((n, g) for n, g in cache.groups() if g > 3)
    tile = TileIdx(*name.split("/")[1:2], *(int(v) for v in name.split("/")[2:]))
    dss = tuple(cache.stream_group(name))
    bands = ("nbart_red", "nbart_green", "count")
    ref = RefTask(
        product=RefProduct(name="ga_ls8c_gm_cyear_3", version="4.0.0", short_name="ga_ls8c_gm_cyear_3",
                           location="s3://bucket/ga_ls8c_gm_cyear_3/4-0-0", properties={}, measurements=bands,
                           maturity="final"),
        tile_index=(tile.x, tile.y), geobox=gs.tile_geobox((tile.x, tile.y)),
        time_range=DateTimeRange(tile.period), datasets=dss)
    ours = Task(
        product=OutputProduct(name="ga_ls8c_gm_cyear_3", version="4.0.0", short_name="ga_ls8c_gm_cyear_3",
                              location="s3://bucket/ga_ls8c_gm_cyear_3/4-0-0", measurements=bands,
                              maturity="final"),
        tile_index=tile, geobox=gs.tile_geobox((tile.x, tile.y)), time_range=Period.parse(tile.period), datasets=dss)
    assert ours.uuid == ref.uuid
    assert ours.location == ref.location
    assert {b: f"{ours.folder}/{p}" for b, p in ours.band_paths().items()} == ref.paths(relative_to="absolute")
    assert ours.metadata_path("stac-item.json") == ref.metadata_path(ext="stac-item.json")
    assert ours.metadata_path("odc-metadata.yaml") == ref.metadata_path(ext="odc-metadata.yaml")
