"""Source profiles: how the items of a real STAC collection become datacube datasets.

A profile is a small YAML document (the built-in ones ship in ``statscore/sources/profiles/``;
``--profile FILE.yaml`` takes a user's) that says, for the collections of one provider:

- ``bands``: which assets are bands, their dtype and nodata, and their **aliases** (the
  names the plugins use: Earth Search calls B02 ``blue`` and SCL ``scl``; with the aliases
  ``gm-s2`` runs on its items unchanged, as datacube's measurement aliases resolve them);
- ``collections``: the product name each collection becomes (default: the collection id
  with ``_`` for ``-``) and its **harmonisation** (``s2-boa-offset`` or ``none``);
- ``s3``: unsigned reads (public buckets), requester-pays, the bucket region;
- ``hrefs``: ``s3`` to read ``https://BUCKET.s3.REGION.amazonaws.com/KEY`` (or an asset's
  ``alternate.s3.href``) as ``s3://BUCKET/KEY``, through GDAL's ``/vsis3/``; ``as-is``;
- ``signer``: how hrefs are signed before they are read (Planetary Computer's SAS tokens).

Sentinel-2 processing baseline 04.00 (from 2022-01-25) stores ``DN = 10000 * rho + 1000``
(``BOA_ADD_OFFSET = -1000``); earlier data has no offset, so a composite across that date
shows a step. ``s2-boa-offset`` marks every item of baseline >= 04.00 whose offset has not
been removed by its producer (Earth Search v1 says so in ``earthsearch:boa_offset_applied``)
with ``statscore:boa_add_offset: -1000`` and the reflectance bands it applies to; the loader
then adds it to those bands (:func:`apply_boa_offset`). ``none``: the collection is
harmonised already (Earth Search ``sentinel-2-c1-l2a``, DEA's NBART).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, suggest

__all__ = ["BandSpec", "CollectionSpec", "S3Access", "Profile", "load_profile", "builtin_profiles",
           "boa_add_offset", "boa_offset_of", "harmonise", "apply_boa_offset", "BOA_OFFSET_KEY", "BOA_BANDS_KEY"]

BOA_OFFSET_KEY = "statscore:boa_add_offset"
"""Dataset property: the DN offset the loader adds to :data:`BOA_BANDS_KEY` bands (-1000)."""
BOA_BANDS_KEY = "statscore:boa_offset_bands"
"""Dataset property: the measurements (product names) the offset applies to."""

S2_BOA_ADD_OFFSET = -1000
"""ESA's ``BOA_ADD_OFFSET`` of processing baseline 04.00 and later, in DN."""

HARMONISATIONS = ("none", "s2-boa-offset")
HREF_MODES = ("as-is", "s3")
_PROFILE_KEYS = {"name", "description", "collections", "bands", "s3", "hrefs", "signer"}
_BAND_KEYS = {"dtype", "nodata", "units", "aliases", "reflectance", "optional"}


@dataclass(frozen=True)
class BandSpec:
    """One asset read as a band."""

    asset: str
    dtype: str
    nodata: float | int | None
    units: str = "1"
    aliases: tuple[str, ...] = ()
    reflectance: bool = False
    """Surface reflectance: what a baseline offset applies to."""
    optional: bool = False
    """Items may lack it (60 m bands, sensor differences); the others must have it."""


@dataclass(frozen=True)
class CollectionSpec:
    """What one collection becomes."""

    product: str
    harmonise: str = "none"


@dataclass(frozen=True)
class S3Access:
    """How the collection's bucket is read (see ``statscore.sources.s3env``)."""

    unsigned: bool = False
    requester_pays: bool = False
    region: str | None = None


@dataclass(frozen=True)
class Profile:
    """A validated source profile (see the module docstring)."""

    name: str
    description: str
    bands: tuple[BandSpec, ...]
    collections: Mapping[str, CollectionSpec]
    s3: S3Access = S3Access()
    hrefs: str = "as-is"
    signer: Mapping[str, Any] | None = None
    source: str = ""
    """Where it was read from (for messages)."""

    def collection(self, collection_id: str) -> CollectionSpec:
        """The settings of ``collection_id``: its own entry, else the profile's ``"*"`` entry."""
        spec = self.collections.get(collection_id)
        if spec is not None:
            return spec
        default = self.collections.get("*")
        if default is None:
            named = [c for c in self.collections if c != "*"]
            raise ConfigError(f"profile {self.name!r} has no settings for collection {collection_id!r}"
                              f"{suggest(collection_id, named)}; it covers: {', '.join(named)}")
        return CollectionSpec(_product_name(collection_id), default.harmonise)

    @property
    def required_assets(self) -> tuple[str, ...]:
        return tuple(b.asset for b in self.bands if not b.optional)

    def product_definition(self, collection_id: str, assets: Sequence[str] | None = None) -> dict[str, Any]:
        """The eo3 product definition of a collection: one measurement per band (those in
        ``assets`` when given), with the profile's aliases."""
        spec = self.collection(collection_id)
        meas = []
        for b in self.bands:
            if assets is not None and b.asset not in assets:
                continue
            m: dict[str, Any] = {"name": b.asset, "dtype": b.dtype, "nodata": b.nodata, "units": b.units}
            if b.aliases:
                m["aliases"] = list(b.aliases)
            meas.append(m)
        return {"name": spec.product, "metadata_type": "eo3", "metadata": {"product": {"name": spec.product}},
                "description": f"{collection_id} through source profile {self.name}", "measurements": meas}


def _product_name(collection_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", collection_id)


def builtin_profiles() -> dict[str, Any]:
    """Built-in profile names -> their package resources."""
    root = resources.files("statscore.sources") / "profiles"
    return {p.name[: -len(".yaml")]: p for p in root.iterdir() if p.name.endswith(".yaml")}


def load_profile(name_or_path: str) -> Profile:
    """A built-in profile by name, or a YAML file by path (anything with ``/`` or ``.yaml``)."""
    import yaml

    builtin = builtin_profiles()
    if name_or_path in builtin:
        text, source = builtin[name_or_path].read_text("utf-8"), f"built-in profile {name_or_path}"
    elif "/" in name_or_path or name_or_path.endswith((".yaml", ".yml")):
        try:
            text, source = Path(name_or_path).read_text("utf-8"), name_or_path
        except OSError as e:
            raise ConfigError(f"--profile {name_or_path}: cannot read ({e.strerror or e})") from None
    else:
        raise ConfigError(f"unknown profile {name_or_path!r}{suggest(name_or_path, sorted(builtin))}; built-in: "
                          f"{', '.join(sorted(builtin))}, or a path to a profile YAML file")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML ({str(e).splitlines()[0]})") from None
    return parse_profile(doc, source)


def parse_profile(doc: Any, source: str) -> Profile:
    """Validate a profile document; an unknown or malformed key is one line naming it."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: a profile is a mapping")
    for k in doc:
        if k not in _PROFILE_KEYS:
            raise ConfigError(f"{source}: unknown key {k!r}{suggest(str(k), sorted(_PROFILE_KEYS))}")
    bands_doc = doc.get("bands")
    if not isinstance(bands_doc, dict) or not bands_doc:
        raise ConfigError(f"{source}: 'bands' must map asset keys to {{dtype, nodata, aliases}}")
    bands = []
    for asset, b in bands_doc.items():
        b = b or {}
        for k in b:
            if k not in _BAND_KEYS:
                raise ConfigError(f"{source}: band {asset!r}: unknown key {k!r}{suggest(str(k), sorted(_BAND_KEYS))}")
        if "dtype" not in b:
            raise ConfigError(f"{source}: band {asset!r} has no dtype")
        try:
            np.dtype(b["dtype"])
        except TypeError:
            raise ConfigError(f"{source}: band {asset!r}: unknown dtype {b['dtype']!r}") from None
        bands.append(BandSpec(str(asset), str(b["dtype"]), b.get("nodata"), str(b.get("units", "1")),
                              tuple(str(a) for a in b.get("aliases") or ()), bool(b.get("reflectance", False)),
                              bool(b.get("optional", False))))
    colls: dict[str, CollectionSpec] = {}
    for cid, c in (doc.get("collections") or {"*": {}}).items():
        c = c or {}
        harm = c.get("harmonise", "none")
        if harm not in HARMONISATIONS:
            raise ConfigError(f"{source}: collection {cid!r}: harmonise {harm!r} is not one of {', '.join(HARMONISATIONS)}")
        unknown = set(c) - {"product", "harmonise"}
        if unknown:
            raise ConfigError(f"{source}: collection {cid!r}: unknown key(s) {', '.join(sorted(unknown))}")
        colls[str(cid)] = CollectionSpec("" if cid == "*" else str(c.get("product") or _product_name(str(cid))), harm)
    s3 = doc.get("s3") or {}
    unknown = set(s3) - {"unsigned", "requester_pays", "region"}
    if unknown:
        raise ConfigError(f"{source}: s3: unknown key(s) {', '.join(sorted(unknown))}")
    hrefs = doc.get("hrefs", "as-is")
    if hrefs not in HREF_MODES:
        raise ConfigError(f"{source}: hrefs {hrefs!r} is not one of {', '.join(HREF_MODES)}")
    signer = doc.get("signer")
    if signer is not None and (not isinstance(signer, dict) or "kind" not in signer):
        raise ConfigError(f"{source}: signer must be a mapping with a 'kind' (sas-token, or python: module:function)")
    return Profile(name=str(doc.get("name") or Path(source).stem), description=str(doc.get("description", "")),
                   bands=tuple(bands), collections=colls,
                   s3=S3Access(bool(s3.get("unsigned", False)), bool(s3.get("requester_pays", False)), s3.get("region")),
                   hrefs=hrefs, signer=signer, source=source)


def boa_add_offset(properties: Mapping[str, Any], harmonise: str) -> int | None:
    """The DN offset to add on load to an item's reflectances, or None when there is none.

    ``s2-boa-offset``: baseline >= 04.00 (``s2:processing_baseline``) and the producer did
    not remove it (``earthsearch:boa_offset_applied`` is not true).
    """
    if harmonise != "s2-boa-offset":
        return None
    baseline = properties.get("s2:processing_baseline")
    if baseline is None:
        return None
    try:
        major = float(str(baseline))
    except ValueError:
        return None
    if major < 4.0 or properties.get("earthsearch:boa_offset_applied") is True:
        return None
    return S2_BOA_ADD_OFFSET


def boa_offset_of(ds: Any) -> tuple[int, tuple[str, ...]] | None:
    """The offset a dataset's document asks the loader to add, and to which bands (or None)."""
    props = ds.metadata_doc.get("properties") or {}
    offset = props.get(BOA_OFFSET_KEY)
    if not offset:
        return None
    return int(offset), tuple(props.get(BOA_BANDS_KEY) or ())


def harmonise(xx: Any, ds: Any) -> Any:
    """A loaded group with ``ds``'s baseline offset removed, if any. Its bands may be named by
    their aliases (what the plugin asked for: ``B02`` for ``blue``)."""
    rule = boa_offset_of(ds)
    if rule is None:
        return xx
    names = set(rule[1])
    for b in rule[1]:
        m = ds.product.measurements.get(b)
        if m is not None:
            names.update(m.get("aliases", ()) or ())
    return apply_boa_offset(xx, rule[0], sorted(names))


def apply_boa_offset(xx: Any, offset: int, bands: Sequence[str]) -> Any:
    """Add ``offset`` (negative) to the reflectance ``bands`` of a loaded ``xarray.Dataset``.

    As ESA defines it, reflectance = (DN + BOA_ADD_OFFSET) / 10000. Nodata stays nodata; a
    valid DN at or below the offset (reflectance <= 0 after the shift) becomes 1, the
    smallest valid value, not nodata: a dark pixel remains an observation (earlier
    baselines clip dark reflectances the same way).
    """
    for name in bands:
        if name not in xx.data_vars:
            continue
        v = xx[name]
        a = np.asarray(v.data)
        nodata = v.attrs.get("nodata")
        valid = a != nodata if nodata is not None else np.ones(a.shape, bool)
        shifted = np.maximum(a.astype(np.int64) + int(offset), 1)
        out = np.where(valid, shifted, a).astype(a.dtype)
        xx[name] = v.copy(data=out)
    return xx
