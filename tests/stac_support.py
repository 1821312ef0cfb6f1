"""Validation of the STAC documents the suite writes: the core schema offline, and every
declared extension's fields through pystac's extension classes.

``tests/conftest.py`` runs :class:`StacAudit` after every test over the session's temporary
folders and over the moto servers' buckets, so no test can write an item that is not
validated. The core JSON schemas (STAC 1.1.0 item and collection, GeoJSON) are the ones
pystac ships as package data; they resolve through a local registry, never the network.
pystac ships no extension schemas, so extensions are checked field by field with pystac's
own classes (``ProjectionExtension.ext(item).shape``...), plus the processing extension,
which pystac does not model, by its v1.2.0 field definitions.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pystac
from pystac.extensions.eo import EOExtension
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterExtension
from pystac.extensions.sat import OrbitState, SatExtension
from pystac.validation.local_validator import get_local_schema_cache
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from rfc3986_validator import validate_rfc3986

ITEM_SUFFIX = ".stac-item.json"
COLLECTION_NAME = "collection.json"  # also {product}.collection.json
_EXT_RE = re.compile(r"^https://stac-extensions\.github\.io/([a-z-]+)/v([0-9.]+)/schema\.json$")
# prefixes of STAC extensions' fields: a field of one of these needs its extension declared
_EXT_PREFIXES = {"eo": "eo", "proj": "projection", "raster": "raster", "file": "file",
                 "processing": "processing", "sat": "sat", "view": "view", "sci": "scientific"}


class StacInvalid(AssertionError):
    """A STAC document breaks the core schema or an extension's rules."""


def _registry() -> Registry:
    return Registry().with_resources(
        (uri, Resource.from_contents(schema, default_specification=DRAFT7))
        for uri, schema in get_local_schema_cache().items()
    )


_REGISTRY = _registry()
_SCHEMAS = {kind: f"https://schemas.stacspec.org/v1.1.0/{kind}-spec/json-schema/{kind}.json"
            for kind in ("item", "collection")}


def _as_uri(iri: str) -> str:
    """RFC 3987 section 3.1: an IRI maps to a URI by percent-encoding its non-ASCII characters."""
    return "".join(c if ord(c) < 128 else quote(c, safe="") for c in iri)


def _format_checker() -> jsonschema.FormatChecker:
    """jsonschema's checker, with STAC's ``iri``/``iri-reference`` checked as the URIs they map
    to by rfc3986-validator (a regular expression) instead of rfc3987-syntax's Earley parser,
    which took 40 ms per href: 93 % of the suite's validation time."""
    checker = jsonschema.FormatChecker()
    for fmt, rule in (("iri", "URI"), ("iri-reference", "URI_reference")):
        checker.checks(fmt, raises=ValueError)(
            lambda v, rule=rule: not isinstance(v, str) or bool(validate_rfc3986(_as_uri(v), rule=rule)))
    return checker


@functools.cache
def _validator(kind: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(_REGISTRY.contents(_SCHEMAS[kind]), registry=_REGISTRY,
                                      format_checker=_format_checker())


def _core(doc: Mapping[str, Any], kind: str, where: str) -> None:
    if doc.get("stac_version") != "1.1.0":
        raise StacInvalid(f"{where}: stac_version {doc.get('stac_version')!r}, the suite validates 1.1.0")
    validator = _validator(kind)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise StacInvalid(f"{where}: {kind} schema: at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]} "
                          f"({len(errors)} error(s))")


def _iso(value: Any, what: str) -> None:
    if not isinstance(value, str):
        raise StacInvalid(f"{what}: {value!r} is not a date-time string")
    datetime.fromisoformat(value.replace("Z", "+00:00"))


def _number(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise StacInvalid(f"{what}: {value!r} is not a finite number")


def _check_projection(item: pystac.Item, where: str) -> None:
    for target, obj in [("item", item), *((f"asset {k}", a) for k, a in item.assets.items())]:
        proj = ProjectionExtension.ext(obj)
        if isinstance(obj, pystac.Item) and proj.code is None and proj.wkt2 is None and proj.projjson is None:
            raise StacInvalid(f"{where}: {target}: proj:code, proj:wkt2 and proj:projjson are all missing")
        if proj.code is not None and not re.fullmatch(r"[A-Z]+:[0-9A-Za-z.]+", proj.code):
            raise StacInvalid(f"{where}: {target}: proj:code {proj.code!r} is not AUTHORITY:CODE")
        if proj.shape is not None and (len(proj.shape) != 2 or not all(isinstance(v, int) and v > 0 for v in proj.shape)):
            raise StacInvalid(f"{where}: {target}: proj:shape {proj.shape!r} is not [rows, cols]")
        if proj.transform is not None:
            if len(proj.transform) not in (6, 9):
                raise StacInvalid(f"{where}: {target}: proj:transform has {len(proj.transform)} numbers (6 or 9)")
            for v in proj.transform:
                _number(v, f"{where}: {target}: proj:transform")
        if proj.bbox is not None and len(proj.bbox) not in (4, 6):
            raise StacInvalid(f"{where}: {target}: proj:bbox {proj.bbox!r}")


def _check_raster(item: pystac.Item, where: str) -> None:
    for key, asset in item.assets.items():
        if "raster:bands" not in asset.extra_fields:
            continue
        bands = RasterExtension.ext(asset).bands or []
        if not bands:
            raise StacInvalid(f"{where}: asset {key}: raster:bands is empty")
        for b in bands:
            if b.data_type is not None and b.data_type not in {t.value for t in DataType}:
                raise StacInvalid(f"{where}: asset {key}: raster data_type {b.data_type!r}")
            if b.nodata is not None and not (isinstance(b.nodata, str) and b.nodata in ("nan", "inf", "-inf")):
                _number(b.nodata, f"{where}: asset {key}: raster nodata")
            for name in ("scale", "offset", "spatial_resolution"):
                v = getattr(b, name)
                if v is not None:
                    _number(v, f"{where}: asset {key}: raster {name}")


def _check_file(item: pystac.Item, where: str) -> None:
    for key, asset in item.assets.items():
        f = FileExtension.ext(asset)
        if f.checksum is not None and not re.fullmatch(r"(?:[0-9a-f]{2})+", f.checksum):
            raise StacInvalid(f"{where}: asset {key}: file:checksum {f.checksum!r} is not a hex multihash")
        if f.checksum is not None and f.checksum.startswith("1114") and len(f.checksum) != 4 + 40:
            raise StacInvalid(f"{where}: asset {key}: file:checksum sha1 multihash of the wrong length")
        if f.size is not None and (not isinstance(f.size, int) or f.size < 0):
            raise StacInvalid(f"{where}: asset {key}: file:size {f.size!r}")


def _check_eo(item: pystac.Item, where: str) -> None:
    eo = EOExtension.ext(item)
    if eo.cloud_cover is not None and not 0 <= eo.cloud_cover <= 100:
        raise StacInvalid(f"{where}: eo:cloud_cover {eo.cloud_cover!r} outside 0-100")
    for key, asset in item.assets.items():
        for b in EOExtension.ext(asset).bands or []:
            if b.center_wavelength is not None:
                _number(b.center_wavelength, f"{where}: asset {key}: eo center_wavelength")


def _check_sat(item: pystac.Item, where: str) -> None:
    sat = SatExtension.ext(item)
    for name in ("relative_orbit", "absolute_orbit"):
        v = getattr(sat, name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise StacInvalid(f"{where}: sat:{name} {v!r} is not a positive integer")
    if "sat:orbit_state" in item.properties and item.properties["sat:orbit_state"] not in {o.value for o in OrbitState}:
        raise StacInvalid(f"{where}: sat:orbit_state {item.properties['sat:orbit_state']!r}")


def _check_processing(item: pystac.Item, where: str) -> None:
    props = item.properties
    soft = props.get("processing:software")
    if soft is not None and not (isinstance(soft, dict) and all(isinstance(v, str) for v in soft.values())):
        raise StacInvalid(f"{where}: processing:software must map names to version strings: {soft!r}")
    for name in ("processing:lineage", "processing:level", "processing:facility"):
        if name in props and not isinstance(props[name], str):
            raise StacInvalid(f"{where}: {name} must be a string")
    if "processing:datetime" in props:
        _iso(props["processing:datetime"], f"{where}: processing:datetime")


_CHECKS: dict[str, tuple[str, Callable[[pystac.Item, str], None]]] = {
    # extension name -> (the version pystac implements, or the one we check by hand; check)
    "projection": (ProjectionExtension.get_schema_uri(), _check_projection),
    "raster": (RasterExtension.get_schema_uri(), _check_raster),
    "file": (FileExtension.get_schema_uri(), _check_file),
    "eo": (EOExtension.get_schema_uri(), _check_eo),
    "sat": (SatExtension.get_schema_uri(), _check_sat),
    "processing": ("https://stac-extensions.github.io/processing/v1.2.0/schema.json", _check_processing),
}


def _prefixes(doc: Mapping[str, Any]) -> set[str]:
    keys = set(doc.get("properties", {}))
    for asset in doc.get("assets", {}).values():
        keys.update(asset)
    return {k.split(":", 1)[0] for k in keys if ":" in k}


def validate_item(doc: Mapping[str, Any], where: str = "item") -> pystac.Item:
    """Raise StacInvalid unless ``doc`` is a valid STAC 1.1.0 item with valid extension fields."""
    _core(doc, "item", where)
    declared = {}
    for uri in doc.get("stac_extensions", []):
        m = _EXT_RE.match(uri)
        if not m or m.group(1) not in _CHECKS:
            raise StacInvalid(f"{where}: extension {uri} has no validator here (tests/stac_support.py)")
        if uri != _CHECKS[m.group(1)][0]:
            raise StacInvalid(f"{where}: extension {uri}: the version checked is {_CHECKS[m.group(1)][0]}")
        declared[m.group(1)] = uri
    undeclared = {p for p in _prefixes(doc) if _EXT_PREFIXES.get(p) and _EXT_PREFIXES[p] not in declared}
    if undeclared:
        raise StacInvalid(f"{where}: fields {sorted(undeclared)}:* of undeclared extensions")
    item = pystac.Item.from_dict(dict(doc), preserve_dict=True, migrate=False)
    for name in declared:
        try:
            _CHECKS[name][1](item, where)
        except StacInvalid:
            raise
        except (ValueError, TypeError, KeyError, pystac.errors.ExtensionNotImplemented) as err:
            raise StacInvalid(f"{where}: {name} extension: {type(err).__name__}: {err}") from err
    return item


def validate_collection(doc: Mapping[str, Any], where: str = "collection") -> None:
    """Raise StacInvalid unless ``doc`` is a valid STAC 1.1.0 collection."""
    _core(doc, "collection", where)


def validate_file(path: Path) -> None:
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict):
        raise StacInvalid(f"{path}: not a JSON object")
    if path.name.endswith(ITEM_SUFFIX):
        validate_item(doc, str(path))
    elif doc.get("type") == "Collection":
        validate_collection(doc, str(path))


def is_stac_name(name: str) -> bool:
    return name.endswith(ITEM_SUFFIX) or name.endswith(COLLECTION_NAME)


class StacAudit:
    """Validates each STAC document once (by path, size and modification time)."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, int, int]] = set()
        self.seen_s3: set[tuple[str, str, str]] = set()
        self.count = 0

    def scan_dir(self, root: Path) -> list[str]:
        """Validate the new or changed STAC documents under ``root``; the failures, one line each."""
        failures: list[str] = []
        for folder, _dirs, names in os.walk(root):
            for name in names:
                if not is_stac_name(name):
                    continue
                path = Path(folder) / name
                try:
                    st = path.stat()
                except FileNotFoundError:  # removed meanwhile (an overwrite)
                    continue
                key = (str(path), st.st_size, st.st_mtime_ns)
                if key in self.seen:
                    continue
                self.seen.add(key)
                self.count += 1
                try:
                    validate_file(path)
                except (StacInvalid, ValueError) as err:
                    failures.append(str(err))
        return failures

    def scan_s3(self, client: Any, where: str, buckets: Iterable[str] | None = None) -> list[str]:
        """Validate the STAC documents in ``buckets`` (default: every bucket of the server)."""
        failures: list[str] = []
        names = list(buckets) if buckets is not None else [b["Name"] for b in client.list_buckets().get("Buckets", [])]
        for name in names:
            for key, etag in _keys(client, name):
                if not is_stac_name(key.rsplit("/", 1)[-1]) or (name, key, etag) in self.seen_s3:
                    continue
                self.seen_s3.add((name, key, etag))
                url = f"s3://{name}/{key}"
                doc = json.loads(client.get_object(Bucket=name, Key=key)["Body"].read())
                self.count += 1
                try:
                    if key.endswith(ITEM_SUFFIX):
                        validate_item(doc, f"{where} {url}")
                    elif doc.get("type") == "Collection":
                        validate_collection(doc, f"{where} {url}")
                except StacInvalid as err:
                    failures.append(str(err))
        return failures


def _keys(client: Any, bucket: str) -> Iterable[tuple[str, str]]:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            yield obj["Key"], obj.get("ETag", "")


def fail_on_invalid_s3_stac(audit: StacAudit, client: Any, where: str, buckets: Iterable[str] | None = None) -> None:
    """pytest.fail naming the invalid STAC documents in a moto server's buckets."""
    import pytest

    failures = audit.scan_s3(client, where, buckets)
    if failures:
        pytest.fail("invalid STAC written to S3:\n" + "\n".join(failures[:10]), pytrace=False)
