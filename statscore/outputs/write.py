"""Writing one task's outputs: band COGs, previews, checksums, eo3, and the STAC item last."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import numpy as np
import rasterio.errors
import xarray as xr
import yaml

from ..errors import ConfigError, InputError, StatsError
from ..model import Task
from .cog import CogOptions, cog_bytes
from .fingerprint import FINGERPRINT_PROPERTY
from .metadata import COLLECTION_FILE, FileInfo, band_nodata, eo3_document, proc_info, stac_collection, stac_item
from .preview import THUMBNAIL_SCALE, grey_preview, rgba_pixels, thumbnail_jpeg
from .store import OutputFolder, is_s3_url, join_url, local_path, open_folder

__all__ = ["OutputFiles", "write_task_outputs", "is_task_done", "stac_item_url", "ensure_collection"]

_log = logging.getLogger(__name__)
_TIFF = "image/tiff; application=geotiff; profile=cloud-optimized"


class OutputFiles(list[str]):
    """URLs written for a task, in write order (the STAC item last); ``skipped`` is True
    when the task was already complete and nothing was written."""

    skipped: bool = False

    def __init__(self, urls=(), *, skipped: bool = False):
        super().__init__(urls)
        self.skipped = skipped


def stac_item_url(task: Task) -> str:
    return join_url(task.folder, task.metadata_path("stac-item.json"))


def is_task_done(task: Task) -> bool:
    """Whether the task's STAC item (written last) exists."""
    return open_folder(task.folder).exists(task.metadata_path("stac-item.json"))


def _self_href(task: Task, name: str) -> str:
    url = join_url(task.folder, name)
    if is_s3_url(url) or url.startswith("file://"):
        return url
    return local_path(url).absolute().as_uri()


def _is_categorical(da: xr.DataArray) -> bool:
    return bool(da.attrs.get("categorical")) or "flags_definition" in da.attrs


def _yaml(doc: Mapping[str, Any]) -> bytes:
    return yaml.safe_dump(json.loads(json.dumps(doc, default=str)), sort_keys=False).encode()


def ensure_collection(task: Task, s3_acl: str | None = None) -> str:
    """Write the product's STAC collection at the output root unless it is there (the items
    link to it when the product names no ``collections_site``); returns its file name.

    ``collection.json``, unless the root already holds another product's: then
    ``{product name}.collection.json`` (two products sharing an output location, as
    odc-stats allows, each keep their own collection).
    """
    product = task.product
    if product.collections_site:
        return COLLECTION_FILE
    root: OutputFolder = open_folder(product.location, s3_acl=s3_acl)
    for name in (COLLECTION_FILE, f"{product.name}.{COLLECTION_FILE}"):
        # two workers finishing their first tiles at once: exactly one of them writes it
        if not root.exists(name) and root.create(name, json.dumps(stac_collection(product), indent=2).encode(),
                                                 "application/json"):
            return name
        try:
            other = json.loads(root.read(name)).get("id")
        except (ValueError, AttributeError) as err:
            raise InputError(f"{join_url(product.location, name)}: not a STAC collection document: {err}") from err
        if other == product.name:
            return name
    raise ConfigError(f"{join_url(product.location, name)} is the collection of product {other!r}, "
                      f"not {product.name!r}: give product {product.name!r} its own output location")


def _check(task: Task, result: xr.Dataset) -> None:
    shape = tuple(task.geobox.shape)
    for band in task.product.measurements:
        if band not in result.data_vars:
            raise InputError(f"task {task.prefix}: the result has no band {band!r} (it has {', '.join(map(str, result.data_vars))})")
        da = result[band]
        if da.shape != shape:
            raise InputError(f"task {task.prefix}: band {band!r} has shape {da.shape}, the tile is {shape}")


def write_task_outputs(
    task: Task,
    result: xr.Dataset,
    *,
    cog_opts: CogOptions,
    rgba: xr.DataArray | None = None,
    s3_acl: str | None = None,
    overwrite: bool = False,
    processing_info: dict | None = None,
    threads: int | None = None,
    fingerprint: str | None = None,
) -> OutputFiles:
    """Write the task's product files into ``task.folder`` (a path, ``file://`` or ``s3://``).

    Order: one COG per band (``task.product.measurements`` order), the RGBA preview COG
    (when ``cog_opts`` has an ``rgba`` override and ``rgba`` is given), the JPEG thumbnail,
    ``.sha1``, ``.proc-info.yaml``, ``.odc-metadata.yaml``, the product's collection at the
    output root when absent (:func:`ensure_collection`) and last ``.stac-item.json``.
    Each file is written atomically. An existing STAC item means the task is done: nothing
    is written and the result has ``skipped=True``, unless ``overwrite`` (the old item is then
    removed first). Bands are encoded ``threads`` at a time (default: the CPUs), and GDAL
    compresses each band's blocks on ``threads`` threads too, so that the last bands, or a
    product of fewer bands than threads, still use every core. On any failure the files
    this call wrote are removed and the error re-raised. ``processing_info`` goes into
    ``.proc-info.yaml``; its ``software`` mapping (name -> version) and ``lineage`` text also
    into the STAC processing extension. ``fingerprint`` (:func:`~statscore.outputs.fingerprint.input_fingerprint`)
    is recorded in the eo3 and STAC properties as ``statscore:input_fingerprint``.
    """
    folder: OutputFolder = open_folder(task.folder, s3_acl=s3_acl)
    stac_name = task.metadata_path("stac-item.json")
    done = folder.exists(stac_name)
    if done and not overwrite:
        _log.info("%s: complete (%s exists), skipping", task.prefix, stac_name)
        return OutputFiles(skipped=True)
    _check(task, result)
    if task.product.nodata:  # the product's nodata where the plugin set none
        result = result.assign({b: result[b].assign_attrs(nodata=v) for b, v in task.product.nodata.items()
                                if b in result.data_vars and band_nodata(result[b]) is None})
    if done:
        folder.delete(stac_name)  # incomplete until the new item lands

    gbox = task.geobox
    processing_dt = datetime.now(timezone.utc)
    written = OutputFiles()
    files: dict[str, FileInfo] = {}

    def put(key: str, name: str, data: bytes, content_type: str) -> None:
        try:
            url = folder.put(name, data, content_type)
        except Exception as err:
            if isinstance(err, StatsError):
                raise
            raise StatsError(f"{join_url(task.folder, name)}: cannot write: {err}") from err
        written.append(url)
        files[key] = FileInfo(name, len(data), hashlib.sha1(data).hexdigest())

    workers = max(1, threads or os.cpu_count() or 1)

    def encode(band: str, pixels: np.ndarray, **kw: Any) -> bytes:
        try:
            return cog_bytes(pixels, gbox, band=band, threads=workers, **kw)
        except rasterio.errors.RasterioError as err:
            raise InputError(f"task {task.prefix}: band {band!r}: cannot encode a COG: {err}") from err

    try:
        def encode_band(band: str) -> bytes:
            da = result[band]
            settings = cog_opts.for_band(band, da.dtype, categorical=_is_categorical(da))
            return encode(band, np.asarray(da.values), settings=settings, nodata=band_nodata(da))

        # compression runs in GDAL without the GIL: encode bands in parallel, write in order
        paths = task.band_paths()
        with ThreadPoolExecutor(max_workers=max(1, min(len(paths), workers))) as pool:
            encoded = pool.map(encode_band, list(paths))
            for (band, name), data in zip(paths.items(), encoded):
                put(band, name, data, _TIFF)

        preview = rgba_pixels(rgba, tuple(gbox.shape)) if rgba is not None else None
        if preview is not None and cog_opts.rgba:
            settings = cog_opts.for_band("rgba", np.uint8)
            photometric = "YCBCR" if settings.compress == "jpeg" else "RGB"
            data = encode("rgba", preview[:3], settings=settings, photometric=photometric, mask=preview[3])
            put("rgba", task.aux_path("rgba"), data, _TIFF)
        if preview is None:  # the first band in grey, stretched on the thumbnail's own pixels
            first = task.product.measurements[0]
            step = THUMBNAIL_SCALE  # (a full-size float64 stretch took ~150 MB at 2048 px)
            small = grey_preview(np.asarray(result[first].values)[::step, ::step], band_nodata(result[first]))
            thumb = thumbnail_jpeg(small, scale=1)
        else:
            thumb = thumbnail_jpeg(preview)
        put("thumbnail", task.aux_path("thumbnail", "jpg"), thumb, "image/jpeg")

        names = {
            "checksum:sha1": task.metadata_path("sha1"),
            "metadata:processor": task.metadata_path("proc-info.yaml"),
            "thumbnail": files["thumbnail"].name,
        }
        if "rgba" in files:
            names["rgba"] = files["rgba"].name
        proc_bytes = _yaml(proc_info(task, processing_info))
        eo3 = eo3_document(task, result, processing_dt=processing_dt, accessories=names,
                           extra_properties={FINGERPRINT_PROPERTY: fingerprint} if fingerprint else None)
        eo3_bytes = _yaml(eo3)
        eo3_name = task.metadata_path("odc-metadata.yaml")

        # every file but the STAC item (which records the checksum of this one)
        lines = [f"{f.sha1}  {f.name}\n" for f in files.values()]
        lines += [f"{hashlib.sha1(b).hexdigest()}  {n}\n" for n, b in
                  ((names["metadata:processor"], proc_bytes), (eo3_name, eo3_bytes))]
        put("checksum:sha1", names["checksum:sha1"], "".join(lines).encode(), "text/plain")
        put("proc-info", names["metadata:processor"], proc_bytes, "text/yaml")
        put("odc-metadata", eo3_name, eo3_bytes, "text/yaml")

        # the product's collection (kept on failure: it describes the product, not this task)
        collection_file = ensure_collection(task, s3_acl)
        item = stac_item(task, result, eo3, files, self_href=_self_href(task, stac_name),
                         processing_info=processing_info, collection_file=collection_file)
        put("stac-item", stac_name, json.dumps(item, indent=2).encode(), "application/json")
    except BaseException:
        for url in reversed(written):
            name = url.rsplit("/", 1)[-1]
            try:
                folder.delete(name)
            except Exception as err:  # keep the original error; say what is left
                _log.error("%s: could not remove partial output %s: %s", task.prefix, url, err)
        raise
    return written
