"""Fusing products (``--input-products a+b``): one dataset per time and region from all.

As odc-stats: datasets are grouped by ``(center_time, region_code)``; a group becomes a
fused dataset when every product is present (``optional`` products may be missing);
products in ``ignore_time`` (a DEM, say) join every group of their region whatever the
time. The fused dataset has product ``fused__a__b``, the union of the measurements, and
an id derived from its sources.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence

from datacube.index.eo3 import prep_eo3
from datacube.model import Dataset, Product

from .errors import InputError
from .ids import odc_uuid

__all__ = ["fuse_products", "fuse_group", "fuse_datasets"]


def fuse_products(products: Sequence[Product]) -> Product:
    defs = [p.definition for p in products]
    names = [m["name"] for d in defs for m in d["measurements"]]
    if len(names) != len(set(names)):
        raise InputError(f"cannot fuse {', '.join(d['name'] for d in defs)}: measurement names overlap")
    name = "fused__" + "__".join(d["name"] for d in defs)
    definition = {
        "name": name,
        "metadata_type": "eo3",
        "metadata": {"product": {"name": name}},
        "description": "Fused products: " + ",".join(d.get("description", d["name"]) for d in defs),
        "measurements": [m for d in defs for m in d["measurements"]],
    }
    return Product(products[0].metadata_type, definition)


def _region(ds: Dataset) -> str | None:
    return ds.metadata_doc.get("properties", {}).get("odc:region_code")


def fuse_group(dss: Sequence[Dataset], product: Product) -> Dataset:
    """One fused dataset from datasets of different products sharing time and region."""
    docs = [ds.metadata_doc for ds in dss]
    ids = [str(ds.id) for ds in dss]
    where = ", ".join(ids)
    crs = {d.get("crs", "").lower() for d in docs}
    if len(crs) != 1:
        raise InputError(f"cannot fuse datasets {where}: CRSs differ ({sorted(crs)})")
    grids: dict = {}
    for d in docs:
        for k, g in d.get("grids", {}).items():
            if k in grids and (list(grids[k]["shape"]) != list(g["shape"]) or list(grids[k]["transform"])[:6] != list(g["transform"])[:6]):
                raise InputError(f"cannot fuse datasets {where}: grid {k!r} differs")
            grids.setdefault(k, g)
    props = {"datetime": docs[0]["properties"]["datetime"]}
    common = set.intersection(*(set(d["properties"]) for d in docs)) - {"datetime"}
    props.update({k: docs[0]["properties"][k] for k in common if all(d["properties"][k] == docs[0]["properties"][k] for d in docs)})
    measurements: dict = {}
    for ds in dss:
        base = ds.uri.rsplit("/", 1)[0] + "/" if ds.uri else ""
        for k, m in ds.metadata_doc.get("measurements", {}).items():
            m = dict(m)
            if base and "://" not in m["path"] and not m["path"].startswith("/"):
                m["path"] = base + m["path"]
            measurements[k] = m
    label = docs[0].get("label") or docs[0]["properties"].get("title") or ids[0]
    doc = {
        "$schema": docs[0].get("$schema", "https://schemas.opendatacube.org/dataset"),
        "id": str(odc_uuid(product.name, "0.0.0", sources=ids)),
        "label": f"{product.name}{label.replace(dss[0].product.name, '')}",
        "product": {"name": product.name},
        "crs": docs[0]["crs"],
        "grids": grids,
        "properties": props,
        "measurements": measurements,
        "lineage": {"source_datasets": ids},
    }
    geom = next((d["geometry"] for d in docs if d.get("geometry")), None)
    if geom is not None:
        doc["geometry"] = copy.deepcopy(geom)
    return Dataset(product, prep_eo3(doc), uri=dss[0].uri)


def fuse_datasets(dss: Iterable[Dataset], products: Sequence[str] = (), *, optional: Sequence[str] = (),
                  ignore_time: Collection[str] = ()) -> Iterator[Dataset]:
    """Group, check completeness, fuse. Incomplete groups are dropped, as odc-stats does."""
    timed: dict[tuple, list[Dataset]] = defaultdict(list)
    timeless: dict[str | None, list[Dataset]] = defaultdict(list)
    product_objs: dict[str, Product] = {}
    for ds in dss:
        product_objs.setdefault(ds.product.name, ds.product)
        if ds.product.name in ignore_time:
            timeless[_region(ds)].append(ds)
        else:
            timed[(ds.center_time, _region(ds))].append(ds)
    if not products:  # documents given by location: their products, in the order given
        products = list(product_objs)
    required = [p for p in products if p not in optional]
    fused_cache: dict[tuple[str, ...], Product] = {}
    for key in sorted(timed, key=lambda k: (k[0], k[1] or "")):
        group = timed[key] + timeless.get(key[1], [])
        present = {ds.product.name for ds in group}
        if not all(p in present for p in required):
            continue
        order = [p for p in products if p in present]
        group = [next(ds for ds in group if ds.product.name == p) for p in order]
        if len(group) < 2:
            continue
        names = tuple(order)
        if names not in fused_cache:
            fused_cache[names] = fuse_products([product_objs[p] for p in names])
        yield fuse_group(group, fused_cache[names])
