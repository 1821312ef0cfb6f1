"""Source profiles: the built-in ones, user YAML, hrefs and the Planetary Computer signer."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from statscore.errors import ConfigError, SourceError
from statscore.sources.profiles import builtin_profiles, load_profile
from statscore.sources.stac_api import ItemConverter, SasTokenSigner, month_ranges, s3_href


def test_builtin_profiles_load():
    assert set(builtin_profiles()) == {"earth-search-s2-l2a", "dea-ard", "usgs-c2l2", "planetary-computer-s2"}
    for name in builtin_profiles():
        p = load_profile(name)
        assert p.name == name and p.bands
    assert load_profile("usgs-c2l2").s3.requester_pays and load_profile("earth-search-s2-l2a").s3.unsigned


def test_gm_s2_band_names_are_aliases_of_earth_search_assets():
    from statscore.plugins import resolve_plugin

    p = load_profile("earth-search-s2-l2a")
    names = {a for b in p.bands for a in (b.asset, *b.aliases)}
    assert set(resolve_plugin("gm-s2", {}).input_bands) <= names


def test_unknown_profile_key_is_named(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("name: x\nbands: {blue: {dtype: uint16, nodata: 0, alias: [B02]}}\n")
    with pytest.raises(ConfigError, match=r"band 'blue': unknown key 'alias' \(did you mean 'aliases'\?\)"):
        load_profile(str(f))


def test_s3_hrefs():
    assert s3_href("https://sentinel-cogs.s3.us-west-2.amazonaws.com/a/b/B02.tif") == "s3://sentinel-cogs/a/b/B02.tif"
    assert s3_href("https://s3.us-west-2.amazonaws.com/usgs-landsat/x.tif") == "s3://usgs-landsat/x.tif"
    assert s3_href("https://landsatlook.usgs.gov/data/x.tif", {"alternate": {"s3": {"href": "s3://usgs-landsat/x.tif"}}}) \
        == "s3://usgs-landsat/x.tif"
    assert s3_href("https://example.com/x.tif") == "https://example.com/x.tif"


def test_month_ranges_cover_the_range_once():
    from datetime import datetime

    r = month_ranges(datetime(2021, 12, 31, 9), datetime(2022, 2, 1, 14))
    assert [(a.isoformat(), b.isoformat()) for a, b in r] == [
        ("2021-12-31T09:00:00", "2021-12-31T23:59:59.999999"), ("2022-01-01T00:00:00", "2022-01-31T23:59:59.999999"),
        ("2022-02-01T00:00:00", "2022-02-01T14:00:00")]


class _TokenApi:
    """A local stand-in for Planetary Computer's SAS token API."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a) -> None:
                pass

            def do_GET(self) -> None:
                api.calls.append(self.path)
                body = json.dumps({"msft:expiry": "2030-01-01T00:00:00Z",
                                   "token": f"st=2030&se=2030&sp=rl&sig={self.path.rsplit('/', 1)[-1]}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/sas/v1/token/{{collection}}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _pc_item(i: int) -> dict:
    base = f"https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/55/H/EA/2022/02/0{i}/S2A_MSIL2A.SAFE/GRANULE/IMG_DATA"
    assets = {}
    for key, res in [("B02", 10), ("B03", 10), ("B04", 10), ("B05", 20), ("B06", 20), ("B07", 20), ("B08", 10),
                     ("B8A", 20), ("B11", 20), ("B12", 20), ("SCL", 20)]:
        assets[key] = {"href": f"{base}/R{res}m/T55HEA_{key}_{res}m.tif", "type": "image/tiff",
                       "proj:shape": [10980 * 10 // res] * 2, "proj:transform": [res, 0, 600000, 0, -res, 6100000],
                       "roles": ["data"]}
    assets["B02"]["raster:bands"] = [{"nodata": 0, "data_type": "uint16"}]
    return {"type": "Feature", "stac_version": "1.0.0", "id": f"S2A_MSIL2A_2022020{i}_T55HEA", "collection": "sentinel-2-l2a",
            "stac_extensions": ["https://stac-extensions.github.io/projection/v1.1.0/schema.json"],
            "geometry": {"type": "Polygon", "coordinates": [[[147.0, -36.0], [148.2, -36.0], [148.2, -37.0], [147.0, -37.0],
                                                             [147.0, -36.0]]]},
            "bbox": [147.0, -37.0, 148.2, -36.0],
            "properties": {"datetime": f"2022-02-0{i}T00:10:00Z", "proj:epsg": 32755, "s2:processing_baseline": "04.00",
                           "s2:mgrs_tile": "55HEA"},
            "assets": assets, "links": []}


def test_planetary_computer_hrefs_are_signed_once_per_collection():
    api = _TokenApi()
    conv = ItemConverter(load_profile("planetary-computer-s2"), signer=SasTokenSigner(api.url))
    dss = [conv.dataset(_pc_item(i), "test") for i in (1, 2)]
    assert api.calls == ["/api/sas/v1/token/sentinel-2-l2a"]
    for ds in dss:
        paths = [m["path"] for m in ds.metadata_doc["measurements"].values()]
        assert len(paths) == 11 and all(p.endswith("?st=2030&se=2030&sp=rl&sig=sentinel-2-l2a") for p in paths)
        assert ds.product.name == "pc_sentinel_2_l2a"
        assert ds.metadata_doc["properties"]["statscore:boa_add_offset"] == -1000  # PC is not harmonised
        assert ds.metadata_doc["properties"]["odc:region_code"] == "55HEA"


def test_unreachable_token_api_is_one_line():
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/token/{{collection}}"
    conv = ItemConverter(load_profile("planetary-computer-s2"), signer=SasTokenSigner(url))
    with pytest.raises(SourceError, match=r"SAS token API http://127.0.0.1:\d+/token/sentinel-2-l2a: cannot get a token"):
        conv.dataset(_pc_item(1), "test")
