"""The input fingerprint of a product: one hash of everything its pixels depend on.

Written into the eo3 document's and the STAC item's properties as
``statscore:input_fingerprint``, so an update run (``run --update``, an execution with
``{"mode": "update"}``) can tell a tile whose inputs changed since its product was
written (new scenes arrived, a dataset was removed, the plugin or product settings
changed) from one that would come out the same, and recompute only the first.

Hashed: the sorted ids of the datasets the task reads (after ``dataset_filters``), the
plugin (its class) with its effective configuration (defaults applied; threads, memory
and chunking left out), the product settings (name, version, bands, properties, naming,
nodata), the tile's grid (CRS, transform, shape: ``resolution`` changes it), the period
and ``cog_opts``. Not hashed: the software versions (a new release does not make every
tile stale; ``--overwrite`` recomputes all) and where the product is written.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from ..model import Task
from .store import OutputFolder, open_folder

__all__ = ["FINGERPRINT_PROPERTY", "input_fingerprint", "product_fingerprint", "canonical"]

FINGERPRINT_PROPERTY = "statscore:input_fingerprint"
"""The eo3/STAC property that holds a product's fingerprint."""


def canonical(value: Any) -> Any:
    """``value`` as plain JSON types with one spelling per value: mappings with string keys,
    sequences as lists (sets sorted), numpy scalars as numbers, NaN as ``"nan"``."""
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        value = value.item()  # numpy scalar
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # dtypes, enums, CRS objects: their text form


def input_fingerprint(task: Task, *, plugin: str, plugin_config: Mapping[str, Any],
                      cog_opts: Mapping[str, Any] | None = None) -> str:
    """``sha256:<hex>`` of the task's inputs and settings (see the module docstring).

    ``plugin`` names the plugin's class (a dotted path, so a short name and its class
    path agree); ``plugin_config`` is its effective configuration.
    """
    product = {k: v for k, v in asdict(task.product).items() if k != "location"}
    gbox = task.geobox
    doc = {
        "datasets": sorted(str(ds.id) for ds in task.datasets),
        "plugin": plugin,
        "plugin_config": plugin_config,
        "product": product,
        "grid": {"crs": str(gbox.crs), "transform": list(gbox.transform)[:6], "shape": list(gbox.shape)},
        "period": task.short_time,
        "cog_opts": cog_opts or {},
    }
    text = json.dumps(canonical(doc), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def product_fingerprint(task: Task, folder: OutputFolder | None = None) -> str | None:
    """The fingerprint recorded in the task's existing STAC item; None when there is no
    item, it cannot be parsed, or it has none (written before fingerprints, or by odc-stats)."""
    folder = folder if folder is not None else open_folder(task.folder)
    name = task.metadata_path("stac-item.json")
    if not folder.exists(name):
        return None
    try:
        item = json.loads(folder.read(name))
    except (ValueError, UnicodeDecodeError):
        return None
    value = (item.get("properties") or {}).get(FINGERPRINT_PROPERTY) if isinstance(item, dict) else None
    return str(value) if value else None
