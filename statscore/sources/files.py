"""STAC items and eo3 documents read straight from a path, glob, file:// or s3:// URL.

No database is needed: STAC items become datasets through datacube's own converter
(``datacube.metadata.stac2ds``), eo3 documents through ``prep_eo3``. Product
definitions found among the documents are used for their products; an eo3 product
without one gets a definition derived from the document and its first band's header.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from datacube.index.eo3 import prep_eo3
from datacube.model import Dataset, Product

from ..errors import InputError, SourceError
from ._fields import prime

__all__ = ["expand_location", "read_document", "FileDatasets"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster
DOC_PATTERNS = ("*.stac-item.json", "*.odc-metadata.yaml", "*.json", "*.yaml", "*.yml")


def _s3_client():
    import boto3  # AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 are honoured by boto3 itself

    return boto3.client("s3")


def _has_glob(s: str) -> bool:
    return any(c in s for c in "*?[")


def expand_location(location: str) -> list[str]:
    """Document URLs/paths under a location, sorted; a folder means every document below it."""
    u = urlparse(location)
    if u.scheme == "s3":
        return _expand_s3(u.netloc, u.path.lstrip("/"), location)
    if u.scheme not in ("", "file"):
        raise SourceError(f"{location}: only local paths, file:// and s3:// locations are supported")
    path = os.path.expanduser(u.path if u.scheme == "file" else location)
    if os.path.isdir(path):
        out = [str(p) for p in Path(path).rglob("*") if p.is_file() and _is_doc_name(p.name)]
    elif _has_glob(path):
        out = [p for p in glob.glob(path, recursive=True) if os.path.isfile(p)]
    elif os.path.isfile(path):
        out = [path]
    else:
        raise SourceError(f"{location}: no such file or folder")
    return sorted(out)


def _is_doc_name(name: str) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in DOC_PATTERNS)


def _expand_s3(bucket: str, key: str, location: str) -> list[str]:
    if _has_glob(key):
        first = min((key.find(c) for c in "*?[" if c in key))
        prefix, pattern = key[: key.rfind("/", 0, first) + 1], key
    else:
        prefix, pattern = key, None
    try:
        pages = _s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    except Exception as e:  # botocore raises many types; name the location
        raise SourceError(f"{location}: cannot list objects ({e.__class__.__name__}: {e})") from None
    if pattern is not None:
        keys = [k for k in keys if fnmatch.fnmatchcase(k, pattern)]
    elif not key.endswith((".json", ".yaml", ".yml")):
        keys = [k for k in keys if _is_doc_name(k.rsplit("/", 1)[-1])]
    return sorted(f"s3://{bucket}/{k}" for k in keys)


def read_document(url: str) -> dict[str, Any]:
    """Parse one JSON/YAML document; any failure is an :class:`InputError` naming it."""
    try:
        if url.startswith("s3://"):
            u = urlparse(url)
            body = _s3_client().get_object(Bucket=u.netloc, Key=u.path.lstrip("/"))["Body"].read()
            text = body.decode("utf-8")
        else:
            text = Path(urlparse(url).path if url.startswith("file://") else url).read_text("utf-8")
        doc = json.loads(text) if url.endswith(".json") else yaml.load(text, Loader=_Loader)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as e:
        raise InputError(f"{url}: unreadable document ({e.__class__.__name__}: {str(e).splitlines()[0]})") from None
    except Exception as e:  # S3 errors
        raise InputError(f"{url}: cannot read ({e.__class__.__name__}: {e})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{url}: not a STAC item, eo3 dataset or product definition (top level is not a mapping)")
    return doc


def _as_uri(url: str) -> str:
    return url if "://" in url else Path(url).absolute().as_uri()


def _kind(doc: dict[str, Any]) -> str:
    if doc.get("type") == "Feature" and "stac_version" in doc:
        return "stac"
    if "measurements" in doc and isinstance(doc.get("measurements"), list) and "metadata_type" in doc:
        return "product"
    if "dataset" in doc and "name" in doc and "measurements" not in doc:
        return "metadata_type"
    if "product" in doc and ("crs" in doc or "grids" in doc or "$schema" in doc):
        return "eo3"
    return "unknown"


class FileDatasets:
    """Turns documents into datasets, remembering the products it has seen or derived."""

    def __init__(self) -> None:
        self._eo3_type = None
        self.metadata_types: dict[str, Any] = {}
        self.products: dict[str, Product] = {}
        self._stac_products: dict[str, Product] = {}
        self._stac_first: dict[str, str] = {}
        self.stac_converter: Any = None
        """A :class:`statscore.sources.stac_api.ItemConverter` when a source profile reads the items."""

    def _metadata_type(self):
        if self._eo3_type is None:
            from datacube.metadata._utils import EO3_MD_TYPE  # datacube's own eo3 type

            self._eo3_type = EO3_MD_TYPE
        return self._eo3_type

    def add_metadata_type(self, doc: dict[str, Any], url: str) -> None:
        from datacube.model import metadata_from_doc

        try:
            self.metadata_types[doc["name"]] = metadata_from_doc(doc)
        except Exception as e:
            raise InputError(f"{url}: invalid metadata type definition ({e})") from None

    def _known_type(self, name: Any) -> bool:
        return name == "eo3" or name in self.metadata_types

    def add_product(self, doc: dict[str, Any], url: str) -> None:
        mt_name = doc.get("metadata_type")
        if not self._known_type(mt_name):
            raise InputError(f"{url}: product {doc.get('name')!r} uses metadata type {mt_name!r}; "
                             "include its definition among the documents")
        mt = self._metadata_type() if mt_name == "eo3" else self.metadata_types[mt_name]
        try:
            self.products[doc["name"]] = Product(mt, doc)
        except Exception as e:
            raise InputError(f"{url}: invalid product definition ({e})") from None

    def _derived_product(self, doc: dict[str, Any], url: str) -> Product:
        name = doc["product"]["name"]
        meas = []
        for band, m in sorted((doc.get("measurements") or {}).items()):
            dtype, nodata = _band_header(m.get("path", ""), url)
            meas.append({"name": band, "dtype": dtype, "nodata": nodata, "units": "1"})
        if not meas:
            raise InputError(f"{url}: eo3 document has no measurements")
        definition = {"name": name, "metadata_type": "eo3", "metadata": {"product": {"name": name}}, "measurements": meas,
                      "description": f"{name} (derived by statscore from {url})"}
        return Product(self._metadata_type(), definition)

    def dataset(self, doc: dict[str, Any], url: str) -> Dataset | None:
        """A dataset for a STAC item or eo3 document; None for a product definition."""
        kind = _kind(doc)
        if kind == "product":
            self.add_product(doc, url)
            return None
        if kind == "metadata_type":
            self.add_metadata_type(doc, url)
            return None
        if kind == "stac":
            if self.stac_converter is not None:
                ds = self.stac_converter.dataset(doc, url, self_href=_as_uri(url))
                self.products.setdefault(ds.product.name, ds.product)
                return ds
            return self._from_stac(doc, url)
        if kind == "eo3":
            return self._from_eo3(doc, url)
        raise InputError(f"{url}: not a STAC item, eo3 dataset document or eo3 product definition")

    def _from_eo3(self, doc: dict[str, Any], url: str) -> Dataset:
        try:
            name = doc["product"]["name"]
            product = self.products.get(name)
            if product is None:
                product = self.products[name] = self._derived_product(doc, url)
            ds = prime(Dataset(product, prep_eo3(doc), uri=_as_uri(url)))
            return ds
        except InputError:
            raise
        except Exception as e:
            raise InputError(f"{url}: invalid eo3 dataset document ({e.__class__.__name__}: {e})") from None

    def _from_stac(self, doc: dict[str, Any], url: str) -> Dataset:
        import pystac
        from datacube.metadata import stac2ds

        try:
            item = pystac.Item.from_dict(doc)
            item.set_self_href(_as_uri(url))
            bands = _raster_assets(item)
            (ds,) = list(stac2ds([item], product_cache=self._stac_products))
            # the converter leaves datetime objects in the document: make it plain JSON
            doc = json.loads(json.dumps(ds.metadata_doc, default=_json_default))
            ds = prime(Dataset(ds.product, doc, uri=ds.uri))
        except Exception as e:
            raise InputError(f"{url}: invalid STAC item ({e.__class__.__name__}: {e})") from None
        self._check_bands(bands, ds.product, url)
        self.products.setdefault(ds.product.name, ds.product)
        return ds

    def _check_bands(self, bands: list[str], product: Product, url: str) -> None:
        """datacube derives a STAC product from its first item and silently drops bands that
        later items have and it lacks; every task would then fail on a band its documents
        do have. Refuse here instead, naming both items."""
        first = self._stac_first.setdefault(product.name, url)
        known = set(product.measurements)
        for m in product.measurements.values():
            known.update(m.get("aliases", ()) or ())
        extra = sorted(b for b in bands if b not in known)
        if extra and first != url:
            raise InputError(f"{url}: band(s) {', '.join(extra)} missing from product {product.name!r} as derived "
                             f"from its first STAC item {first}: the items of a product must share their bands")

    def stream(self, urls: Iterable[str], on_doc: Callable[[], None] | None = None) -> Iterator[Dataset]:
        """Datasets of the documents at ``urls``, in order.

        Definitions may come in any order in the listing: a product whose metadata type
        has not been seen, or an eo3 document whose product has not, waits until the end;
        only then is a product definition derived for products that still have none.
        """
        products: list[tuple[dict[str, Any], str]] = []
        waiting: list[tuple[dict[str, Any], str]] = []
        for url in urls:
            doc = read_document(url)
            if on_doc is not None:
                on_doc()
            kind = _kind(doc)
            if kind == "product" and not self._known_type(doc.get("metadata_type")):
                products.append((doc, url))
                continue
            if kind == "eo3" and _product_name(doc, url) not in self.products:
                waiting.append((doc, url))
                continue
            ds = self.dataset(doc, url)
            if ds is not None:
                yield ds
        for doc, url in products:
            self.add_product(doc, url)
        for doc, url in waiting:
            ds = self.dataset(doc, url)
            if ds is not None:
                yield ds


def _raster_assets(item: Any) -> list[str]:
    """Asset keys that datacube's STAC converter takes as bands (odc-stac's own test)."""
    from odc.stac._mdtools import has_proj_data, has_proj_ext, is_raster_data

    check_proj = has_proj_ext(item) and any(has_proj_data(a) for a in item.assets.values())
    return [k for k, a in item.assets.items() if is_raster_data(a, check_proj)]


def _json_default(o: Any) -> Any:
    if hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError(f"{o.__class__.__name__} is not JSON serialisable")


def _product_name(doc: dict[str, Any], url: str) -> str:
    try:
        return str(doc["product"]["name"])
    except (KeyError, TypeError):
        raise InputError(f"{url}: eo3 document has no product.name") from None


def _band_header(path: str, doc_url: str) -> tuple[str, float | int | None]:
    """dtype and nodata of a band file, for eo3 products that come without a definition."""
    import rasterio

    if not path:
        raise InputError(f"{doc_url}: a measurement has no path")
    if "://" not in path and not os.path.isabs(path):
        base = doc_url.rsplit("/", 1)[0] if "/" in doc_url else "."
        path = f"{base}/{path}"
    if path.startswith("s3://"):
        path = "/vsis3/" + path[5:]
    elif path.startswith("file://"):
        path = urlparse(path).path
    try:
        with rasterio.open(path) as src:
            nodata = src.nodata
            if nodata is not None and float(nodata).is_integer():
                nodata = int(nodata)
            return src.dtypes[0], nodata
    except Exception as e:
        raise InputError(f"{doc_url}: no product definition for it and its band {path} cannot be read to derive one ({e})") from None
