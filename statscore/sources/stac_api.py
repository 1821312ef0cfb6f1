"""Datasets from a STAC API (Earth Search, Planetary Computer, DEA/DE Africa explorer...).

Listing ``s3://sentinel-cogs/**`` is no way to find a continent-year of scenes: a STAC API
answers "these collections, this period, this area, this filter" directly. The search is
cut into periods (calendar months of the padded temporal range), each searched page by page
on its own thread (pystac-client, one client per thread), so a year runs as ~12 concurrent
paged searches. Items become datacube datasets through datacube's own converter
(``datacube.metadata.stac2ds``, as :mod:`statscore.sources.files` does for item files,
hence the same dataset ids) with products from a source profile
(:mod:`statscore.sources.profiles`): band aliases, hrefs rewritten to ``s3://`` or signed,
and the Sentinel-2 baseline offset marked where it must be removed on load.
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from datacube.model import Dataset, Product

from ..errors import ConfigError, InputError, SourceError, suggest
from ._fields import dataset_id, prime
from .profiles import BOA_BANDS_KEY, BOA_OFFSET_KEY, Profile, boa_add_offset

__all__ = ["StacApiSearch", "ItemConverter", "month_ranges", "make_signer", "DEFAULT_THREADS", "DEFAULT_PAGE_SIZE"]

DEFAULT_THREADS = 4
"""Concurrent searches: enough to hide the API's per-page latency without hammering it."""
DEFAULT_PAGE_SIZE = 500
"""Items per page (``limit``); servers cap it (Earth Search at 100 or more, pgstac at 10,000)."""

_S3_HTTPS = re.compile(r"^https?://(?P<bucket>[a-z0-9.\-]+)\.s3(?:[.-](?P<region>[a-z0-9-]+))?\.amazonaws\.com/(?P<key>.+)$")
_S3_PATH = re.compile(r"^https?://s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com/(?P<bucket>[^/]+)/(?P<key>.+)$")

Signer = Callable[[str, str], str]
"""``sign(href, collection_id) -> href`` readable by GDAL."""


def month_ranges(t0: datetime, t1: datetime) -> list[tuple[datetime, datetime]]:
    """``[t0, t1]`` cut at calendar month starts: the periods searched concurrently."""
    out = []
    a = t0
    while a <= t1:
        nxt = datetime(a.year + (a.month == 12), a.month % 12 + 1, 1, tzinfo=a.tzinfo)
        b = min(t1, nxt - timedelta(microseconds=1))
        out.append((a, b))
        a = nxt
    return out


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def s3_href(href: str, asset: Mapping[str, Any] | None = None) -> str:
    """``s3://bucket/key`` for an S3 object's https URL (or the asset's ``alternate.s3.href``)."""
    alt = ((asset or {}).get("alternate") or {}).get("s3", {}).get("href")
    if isinstance(alt, str) and alt.startswith("s3://"):
        return alt
    m = _S3_HTTPS.match(href) or _S3_PATH.match(href)
    return f"s3://{m['bucket']}/{m['key']}" if m else href


def make_signer(spec: Mapping[str, Any] | None) -> Signer | None:
    """The signer a profile names: ``sas-token`` (a token per collection from ``token_url``,
    appended to Azure Blob hrefs, Planetary Computer's scheme) or ``python`` (``module:function``
    taking ``(href, collection_id)``)."""
    if not spec:
        return None
    kind = spec.get("kind")
    if kind == "sas-token":
        return SasTokenSigner(str(spec["token_url"]))
    if kind == "python":
        import importlib

        target = str(spec.get("function", ""))
        mod, _, fn = target.partition(":")
        try:
            return getattr(importlib.import_module(mod), fn)
        except (ImportError, AttributeError, ValueError) as e:
            raise ConfigError(f"signer function {target!r} cannot be imported ({e})") from None
    raise ConfigError(f"unknown signer kind {kind!r}: use sas-token or python")


class SasTokenSigner:
    """Appends a SAS token to Azure Blob Storage hrefs; one token per collection, fetched once
    from ``token_url`` (``{collection}`` is replaced), as Planetary Computer's token API gives
    (``{"token": "...", "msft:expiry": "..."}``). Tokens expire (about an hour): plan shortly
    before running, or re-plan."""

    def __init__(self, token_url: str) -> None:
        self.token_url = token_url
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def token(self, collection_id: str) -> str:
        with self._lock:
            tok = self._tokens.get(collection_id)
            if tok is None:
                import requests

                url = self.token_url.format(collection=collection_id)
                try:
                    r = requests.get(url, timeout=30)
                    r.raise_for_status()
                    tok = str(r.json()["token"])
                except Exception as e:  # noqa: BLE001 - requests/JSON errors: name the endpoint
                    raise SourceError(f"SAS token API {url}: cannot get a token ({e.__class__.__name__}: {e})") from None
                self._tokens[collection_id] = tok
        return tok

    def __call__(self, href: str, collection_id: str) -> str:
        host = urlparse(href).netloc
        if not host.endswith(".blob.core.windows.net") or "sig=" in href:
            return href
        return f"{href}{'&' if '?' in href else '?'}{self.token(collection_id)}"


class ItemConverter:
    """STAC item dicts -> datasets, with products from the profile (one per collection)."""

    def __init__(self, profile: Profile, signer: Signer | None = None) -> None:
        self.profile = profile
        self.signer = signer if signer is not None else make_signer(profile.signer)
        self.products: dict[str, Product] = {}
        """Collection id -> product."""
        self._lock = threading.Lock()
        self._band_assets = {b.asset for b in profile.bands}

    def prepare(self, doc: dict[str, Any], where: str) -> dict[str, Any]:
        """The item as the profile reads it: its band assets only (hrefs rewritten/signed), the
        harmonisation marked; an item lacking a required band asset is an :class:`InputError`."""
        cid = doc.get("collection")
        if not cid:
            raise InputError(f"{where}: item {doc.get('id')!r} names no collection")
        spec = self.profile.collection(cid)
        assets = doc.get("assets") or {}
        missing = [a for a in self.profile.required_assets if a not in assets]
        if missing:
            raise InputError(f"{where}: item {doc.get('id')} ({cid}) has no asset {', '.join(map(repr, missing))} "
                             f"that profile {self.profile.name!r} reads as a band")
        out_assets = {}
        for key, a in assets.items():
            if key not in self._band_assets:
                continue
            a = dict(a)
            href = str(a.get("href", ""))
            if self.profile.hrefs == "s3":
                href = s3_href(href, a)
            if self.signer is not None:
                href = self.signer(href, cid)
            a["href"] = href
            a.pop("alternate", None)
            out_assets[key] = a
        doc = dict(doc, assets=out_assets)
        props = doc.get("properties") or {}
        tile = props.get("s2:mgrs_tile") or props.get("grid:code", "").removeprefix("MGRS-")
        if tile and "odc:region_code" not in props:  # what datacube's fusion and odc-stats group scenes by
            doc["properties"] = props = dict(props, **{"odc:region_code": tile})
        offset = boa_add_offset(doc.get("properties") or {}, spec.harmonise)
        if offset is not None:
            bands = [b.asset for b in self.profile.bands if b.reflectance and b.asset in out_assets]
            doc["properties"] = dict(doc["properties"], **{BOA_OFFSET_KEY: offset, BOA_BANDS_KEY: bands})
        return doc

    def _product(self, item: Any) -> Product:
        cid = item.collection_id
        product = self.products.get(cid)
        if product is None:
            with self._lock:
                product = self.products.get(cid)
                if product is None:
                    product = self.products[cid] = self._make_product(item)
        return product

    def _make_product(self, item: Any) -> Product:
        import dataclasses

        from datacube.metadata._utils import EO3_MD_TYPE
        from odc.stac._mdtools import extract_collection_metadata

        bands = [b for b in self.profile.bands if b.asset in item.assets]
        cfg = {item.collection_id: {"assets": {b.asset: {"data_type": b.dtype, "nodata": b.nodata, "unit": b.units}
                                               for b in bands}}}
        md = extract_collection_metadata(item, cfg)
        keep = {k: v for k, v in md.meta.bands.items() if k[0] in self._band_assets}
        md = dataclasses.replace(md, name=self.profile.collection(item.collection_id).product,
                                 meta=dataclasses.replace(md.meta, bands=keep, aliases={}))
        doc = self.profile.product_definition(item.collection_id, [b.asset for b in bands])
        return Product(EO3_MD_TYPE, doc, stac=md)

    def dataset(self, doc: dict[str, Any], where: str, self_href: str | None = None) -> Dataset:
        """The dataset of one item dict (see :meth:`prepare`); relative asset hrefs are resolved
        against ``self_href`` (the item file's URL), as datacube does for item files."""
        import pystac
        from datacube.metadata import stac2ds

        from .files import _json_default

        doc = self.prepare(doc, where)
        try:
            # items from an API are STAC 1.x already: migrating them only deep-copies (a fifth of the time)
            item = pystac.Item.from_dict(doc, preserve_dict=False, migrate=False)
            if self_href is not None:
                item.set_self_href(self_href)
            product = self._product(item)
            (ds,) = list(stac2ds([item], product_cache={item.collection_id: product}))
            # the converter leaves datetime objects in the document: make it plain JSON
            md = json.loads(json.dumps(ds.metadata_doc, default=_json_default))
            md.setdefault("label", item.id)  # Earth Search items have no title: the scene name labels the dataset
            ds = prime(Dataset(ds.product, md, uri=ds.uri))
        except (InputError, ConfigError):
            raise
        except Exception as e:  # noqa: BLE001 - pystac/odc-stac raise many types: name the item
            raise InputError(f"{where}: item {doc.get('id')} ({doc.get('collection')}): not a usable STAC item "
                             f"({e.__class__.__name__}: {e})") from None
        return ds


def _first_line(e: BaseException) -> str:
    s = str(e).strip()
    return s.splitlines()[0][:300] if s else e.__class__.__name__


class StacApiSearch:
    """A search of a STAC API: collections, a period, an area and a CQL2-JSON filter.

    :meth:`datasets` yields datasets period by period in time order (deterministic), while
    up to ``threads`` periods are being fetched and converted ahead.
    """

    def __init__(self, url: str, collections: Sequence[str], profile: Profile, *,
                 stac_filter: Mapping[str, Any] | None = None, threads: int = DEFAULT_THREADS,
                 page_size: int = DEFAULT_PAGE_SIZE, signer: Signer | None = None) -> None:
        if not collections:
            raise ConfigError("--collections is required with --stac-api")
        self.url = url
        self.collections = tuple(collections)
        self.profile = profile
        self.stac_filter = dict(stac_filter) if stac_filter else None
        self.threads = max(1, int(threads))
        self.page_size = int(page_size)
        self.converter = ItemConverter(profile, signer)
        self._local = threading.local()

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            from pystac_client import Client

            try:
                client = Client.open(self.url, timeout=60)
            except Exception as e:  # noqa: BLE001 - requests/pystac-client errors: name the API
                raise SourceError(f"STAC API {self.url}: cannot connect ({e.__class__.__name__}: {_first_line(e)})") from None
            self._local.client = client
        return client

    def check_collections(self) -> None:
        """Every collection exists on the API; an unknown one is named, with what the API has."""
        client = self._client()
        for cid in self.collections:
            try:
                found = client.get_collection(cid) is not None  # None on a 404 (pystac-client >= 0.8)
            except Exception:  # noqa: BLE001 - other HTTP errors, or a non-collection document
                found = False
            if not found:
                try:
                    have = sorted(c.id for c in client.get_collections())
                except Exception:  # noqa: BLE001
                    have = []
                listing = f"; it has: {', '.join(have[:30])}{' ...' if len(have) > 30 else ''}" if have else ""
                raise SourceError(f"STAC API {self.url}: no collection {cid!r}{suggest(cid, have)}{listing}") from None
            self.profile.collection(cid)  # one the profile does not cover: fail before searching

    def _search_kwargs(self, period: tuple[datetime, datetime] | None,
                       bbox: tuple[float, float, float, float] | None) -> dict[str, Any]:
        kw: dict[str, Any] = {"collections": list(self.collections), "limit": self.page_size}
        if period is not None:
            kw["datetime"] = f"{_iso(period[0])}/{_iso(period[1])}"
        if bbox is not None:
            kw["bbox"] = list(bbox)
        if self.stac_filter is not None:
            kw["filter"] = self.stac_filter
            kw["filter_lang"] = "cql2-json"
        return kw

    def _fetch(self, period: tuple[datetime, datetime] | None, bbox: tuple[float, float, float, float] | None,
               on_item: Callable[[], None]) -> list[Dataset]:
        kw = self._search_kwargs(period, bbox)
        where = f"STAC API {self.url}"
        out: list[Dataset] = []
        try:
            search = self._client().search(**kw)
            for page in search.pages_as_dicts():
                for doc in page.get("features", []):
                    out.append(self.converter.dataset(doc, where))
                    on_item()
        except (InputError, ConfigError, SourceError):
            raise
        except Exception as e:  # noqa: BLE001 - HTTP, JSON and conformance errors
            span = kw.get("datetime", "all time")
            raise SourceError(f"{where}: search of {', '.join(self.collections)} for {span} failed "
                              f"({e.__class__.__name__}: {_first_line(e)})") from None
        return out

    def matched(self, time_range: tuple[datetime, datetime] | None = None,
                bbox: tuple[float, float, float, float] | None = None) -> int | None:
        """How many items the search matches, as the API counts them (``numberMatched``, or the
        context extension's ``matched``): one request of one item, whatever the size. None when
        the API does not count."""
        self.check_collections()
        kw = self._search_kwargs(None if time_range is None else (time_range[0], time_range[1]), bbox)
        kw["limit"] = 1
        try:
            with warnings.catch_warnings():  # an API that does not count: None, said by the caller
                warnings.simplefilter("ignore")
                n = self._client().search(**kw).matched()
        except Exception as e:  # noqa: BLE001 - HTTP, JSON and conformance errors
            raise SourceError(f"STAC API {self.url}: count of {', '.join(self.collections)} for "
                              f"{kw.get('datetime', 'all time')} failed ({e.__class__.__name__}: {_first_line(e)})") from None
        return None if n is None else int(n)

    def datasets(self, time_range: tuple[datetime, datetime] | None = None,
                 bbox: tuple[float, float, float, float] | None = None,
                 on_item: Callable[[], None] | None = None) -> Iterator[Dataset]:
        """Datasets of the items in ``time_range`` (UTC, inclusive) and ``bbox`` (lon/lat), in
        period order; an item found in two periods (on a boundary) is yielded once."""
        self.check_collections()
        periods: list[Any] = month_ranges(*time_range) if time_range is not None else [None]
        lock = threading.Lock()

        def tick() -> None:
            if on_item is not None:
                with lock:
                    on_item()

        seen: set[str] = set()
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="stac-search") as pool:
            pending: list[Future[list[Dataset]]] = []
            nxt = 0
            try:
                while nxt < len(periods) or pending:
                    while nxt < len(periods) and len(pending) < self.threads:
                        pending.append(pool.submit(self._fetch, periods[nxt], bbox, tick))
                        nxt += 1
                    for ds in pending.pop(0).result():
                        key = dataset_id(ds)
                        if key not in seen:
                            seen.add(key)
                            yield ds
            finally:
                for f in pending:
                    f.cancel()
