"""Fail before spending: check everything that can be checked before any task is computed.

``run``, ``run --from-sqs`` (before its first receive) and Enumerate (before anything is
enqueued) call :func:`check_run`:

- the whole run config: the plugin is constructed from ``plugin_config``; the ``product``
  settings make an output product (names, region code format); every band's ``cog_opts``
  is handed to GDAL, which encodes a small COG of the band's dtype with them, and any
  creation option GDAL rejects or ignores (an unknown compression, a level out of range,
  a predictor the dtype cannot take, JPEG on 16-bit data) is an error naming the band;
- the output location takes a write with the configured ACL: a probe object is written
  under ``<location>/.statscore-probe/`` and deleted (``file://`` and ``s3://``);
- the task cache opens (when there is one to open: a worker learns its cache from each message).

Each failure is one :class:`~statscore.errors.ConfigError`/:class:`~statscore.errors.SourceError`
line naming the input.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..config import RunConfig
from ..errors import ConfigError, InputError, SourceError, StatsError

__all__ = ["check_run", "check_config", "check_cog_opts", "check_output_location", "check_cache", "PROBE_PREFIX"]

PROBE_PREFIX = ".statscore-probe/"
"""Key prefix (under the output location) of the objects written to test it, deleted at once."""
_PROBE_PX = 32


def check_run(cfg: RunConfig, *, location: str | None = None, cache: str | None = None,
              probe_output: bool = True) -> Any:
    """Every check for a run of ``cfg`` writing to ``location`` (default ``cfg.output_location``);
    returns the constructed plugin. ``probe_output=False`` (a dry run) writes nothing."""
    location = location or cfg.output_location
    if not cfg.plugin:
        raise ConfigError("no plugin: pass --plugin or set 'plugin' in --config")
    plugin = check_config(cfg, location or "file:///probe")
    if not location:
        raise ConfigError("no output location: pass --location or set 'output_location' in --config")
    if probe_output:
        check_output_location(location, cfg.s3_acl)
    if cache:
        check_cache(cache)
    return plugin


def check_config(cfg: RunConfig, location: str = "file:///probe") -> Any:
    """The plugin, product and ``cog_opts`` of ``cfg``, as the tasks will use them; returns the plugin."""
    from ..plugins import resolve_plugin
    from ..run import output_product

    if not cfg.plugin:
        raise ConfigError("no plugin: pass --plugin or set 'plugin' in --config")
    try:
        plugin = resolve_plugin(cfg.plugin, cfg.plugin_config)
    except ConfigError as e:  # name the input when the plugin's own check does not
        if "plugin" in str(e):
            raise
        raise ConfigError(f"plugin_config of plugin {cfg.plugin!r}: {e}") from None
    try:
        product = output_product(cfg, plugin, location)
        product.region_code(1, 2)
    except StatsError:
        raise
    except (KeyError, IndexError, ValueError, TypeError) as e:
        raise ConfigError(f"product: invalid settings ({type(e).__name__}: {e})") from None
    check_cog_opts(cfg.cog_opts, plugin)
    return plugin


def check_cog_opts(cog_opts: Any, plugin: Any) -> None:
    """Encode a small COG per output band with its ``cog_opts`` settings; GDAL's verdict decides."""
    from odc.geo.geobox import GeoBox

    from ..outputs import CogOptions, cog_bytes

    opts = CogOptions.from_config(cog_opts)
    gbox = GeoBox.from_bbox((0, 0, _PROBE_PX * 10, _PROBE_PX * 10), "EPSG:3577", resolution=10)
    dtypes = plugin.output_dtypes()
    nodata = plugin.output_nodata()
    categorical = set(plugin.categorical_bands)
    probes: list[tuple[str, dict[str, Any]]] = []
    for band in plugin.measurements:
        dt = np.dtype(dtypes[band])
        pixels = np.zeros((_PROBE_PX, _PROBE_PX), dtype="uint8" if dt.kind == "b" else dt)
        probes.append((band, {"pixels": pixels, "settings": opts.for_band(band, dt, band in categorical),
                              "nodata": nodata.get(band)}))
    if opts.rgba:
        settings = opts.for_band("rgba", np.uint8)
        probes.append(("rgba", {"pixels": np.zeros((3, _PROBE_PX, _PROBE_PX), "uint8"), "settings": settings,
                                "photometric": "YCBCR" if settings.compress == "jpeg" else "RGB",
                                "mask": np.full((_PROBE_PX, _PROBE_PX), 255, "uint8")}))
    seen: set[tuple[Any, ...]] = set()
    for band, kw in probes:
        key = (kw["settings"], kw["pixels"].dtype.str, kw["pixels"].ndim, kw.get("nodata") is None)
        if key in seen:  # bands written alike are probed once
            continue
        seen.add(key)
        where = f"cog_opts (band {band!r}, {kw['pixels'].dtype})"
        with _gdal_warnings() as warned:
            try:
                cog_bytes(geobox=gbox, band=band, **kw)
            except Exception as e:  # noqa: BLE001 - rasterio, GDAL (CPLE_*) or our own: a band it cannot write
                raise ConfigError(f"{where}: GDAL cannot write it: {_first_line(e)}") from None
        if warned:
            raise ConfigError(f"{where}: GDAL rejects a creation option: {warned[0]}")


@contextmanager
def _gdal_warnings() -> Iterator[list[str]]:
    """GDAL's warnings about creation options while the block runs (rasterio logs them)."""
    found: list[str] = []

    class _Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            msg = record.getMessage()
            if record.levelno >= logging.WARNING and ("creation option" in msg or "CPLE_IllegalArg" in msg):
                found.append(msg.split(" in ", 1)[-1].strip())

    log = logging.getLogger("rasterio._env")
    handler = _Catch(logging.WARNING)
    old_level = log.level
    log.addHandler(handler)
    if log.getEffectiveLevel() > logging.WARNING:
        log.setLevel(logging.WARNING)
    try:
        yield found
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def check_output_location(location: str, acl: str | None = None) -> None:
    """Write a probe object (with ``acl`` on S3) under ``location`` and delete it."""
    from ..outputs.store import S3Folder, is_s3_url, join_url, local_path

    name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    probe_url = join_url(join_url(location, PROBE_PREFIX.rstrip("/")), name)
    body = b"statscore output location check; deleted at once\n"
    if is_s3_url(location):
        from botocore.exceptions import BotoCoreError, ClientError

        folder = S3Folder(join_url(location, PROBE_PREFIX.rstrip("/")), acl=acl)
        key = folder.key(name)
        try:
            resp = folder.client.put_object(Bucket=folder.bucket, Key=key, Body=body, ContentType="text/plain",
                                            **({"ACL": acl} if acl else {}))
        except ClientError as e:
            err = e.response.get("Error", {})
            code = str(err.get("Code", "")) or "error"
            how = f" with ACL {acl}" if acl else ""
            msg = str(err.get("Message", "")).strip()
            raise SourceError(f"output location {location}: cannot write{how} ({code}{': ' + msg if msg else ''})") \
                from None
        except BotoCoreError as e:
            raise SourceError(f"output location {location}: cannot reach S3 ({e})") from None
        try:
            _delete_probe(folder, key, resp.get("VersionId"))
        except (ClientError, BotoCoreError) as e:
            code = e.response.get("Error", {}).get("Code", "") if isinstance(e, ClientError) else str(e)
            raise SourceError(f"output location {location}: wrote {probe_url} but cannot delete it ({code}); "
                              f"workers remove partial outputs of failed tasks, so they need s3:DeleteObject") from None
        return
    path = local_path(location) / PROBE_PREFIX.rstrip("/")
    try:
        path.mkdir(parents=True, exist_ok=True)
        target = path / name
        target.write_bytes(body)
        target.unlink()
        try:
            path.rmdir()
        except OSError:
            pass  # another process's probe is in it
    except OSError as e:
        raise SourceError(f"output location {location}: cannot write ({e.strerror or e})") from None


def _delete_probe(folder: Any, key: str, version: str | None) -> None:
    """Delete the probe; in a versioned bucket its version too (where allowed), so nothing is left."""
    from botocore.exceptions import ClientError

    if version:
        try:
            folder.client.delete_object(Bucket=folder.bucket, Key=key, VersionId=version)
            return
        except ClientError:
            pass  # no s3:DeleteObjectVersion: a delete marker over a 50-byte version is left
    folder.client.delete_object(Bucket=folder.bucket, Key=key)


def check_cache(path: str) -> None:
    """The task cache opens and has save-tasks' settings (an s3:// cache is checked to exist)."""
    if path.startswith("s3://"):
        from botocore.exceptions import BotoCoreError, ClientError

        from ..outputs import s3_client
        from ..outputs.store import is_not_found, s3_error_code

        bucket, _, key = path.removeprefix("s3://").partition("/")
        try:
            s3_client().head_object(Bucket=bucket, Key=key)
        except ClientError as e:
            why = "not found" if is_not_found(e) else f"cannot read ({s3_error_code(e)})"
            raise InputError(f"cache {path}: {why}") from None
        except BotoCoreError as e:
            raise SourceError(f"cache {path}: cannot reach S3 ({e})") from None
        return
    from ..cache import cache_config, open_cache

    cache_config(open_cache(path))
