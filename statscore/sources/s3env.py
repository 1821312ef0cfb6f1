"""GDAL's settings for reading COGs from S3: the one place that builds them.

Inputs on S3 are read by GDAL (``/vsis3/``), both by datacube's loader and by our own window
reads (``statscore._read``). Both run inside ``rasterio.Env`` blocks that set some options
explicitly; GDAL falls back to the process environment for everything else, and the task
processes inherit it. So these settings go into ``os.environ`` once, when a run opens its
cache (``configure``), never overriding a variable the user (or the Batch job definition) set:

- ``AWS_NO_SIGN_REQUEST=YES`` for public buckets read without credentials (``unsigned``);
- ``AWS_REQUEST_PAYER=requester`` for requester-pays buckets (``usgs-landsat``);
- ``GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR``: without it every open lists the object's
  "folder" (one more request per file, thousands of keys in a real bucket);
- ``GDAL_HTTP_MAX_RETRY`` / ``GDAL_HTTP_RETRY_DELAY`` (doubled by GDAL after each try) and
  ``GDAL_HTTP_RETRY_CODES`` (GDAL >= 3.10; rasterio 1.5.2 ships 3.12): 5xx and 429
  responses and S3's ``SlowDown`` are retried with backoff instead of failing the task;
- a local endpoint (moto, MinIO) named the way boto3 takes it, ``AWS_ENDPOINT_URL_S3`` or
  ``AWS_ENDPOINT_URL``, becomes ``AWS_S3_ENDPOINT`` (host:port), ``AWS_HTTPS`` and
  ``AWS_VIRTUAL_HOSTING=FALSE``, so one variable points boto3 and GDAL at the same server.

The region of the bucket is the job's ``AWS_REGION`` (GDAL follows S3's redirects to another
region, at one request's cost per file); the Batch job definition sets it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

__all__ = ["S3ReadSettings", "gdal_options", "configure", "settings_from_cache_config", "access_hint"]

RETRY_CODES = "429,500,502,503,504"
"""HTTP statuses GDAL retries (S3's SlowDown is a 503)."""


@dataclass(frozen=True)
class S3ReadSettings:
    """How inputs on S3 are read (see the module docstring)."""

    unsigned: bool = False
    requester_pays: bool = False
    max_retry: int = 6
    """Tries after the first; with the delay doubling, about a minute in all."""
    retry_delay_s: float = 0.5

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any] | None) -> S3ReadSettings:
        doc = doc or {}
        return cls(unsigned=bool(doc.get("unsigned", False)), requester_pays=bool(doc.get("requester_pays", False)))


def gdal_options(settings: S3ReadSettings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The GDAL configuration options for ``settings`` (and the endpoint in ``environ``)."""
    env = os.environ if environ is None else environ
    opts = {
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "GDAL_HTTP_MAX_RETRY": str(settings.max_retry),
        "GDAL_HTTP_RETRY_DELAY": f"{settings.retry_delay_s:g}",
        "GDAL_HTTP_RETRY_CODES": RETRY_CODES,
        "VSI_CACHE": "TRUE",
    }
    if settings.unsigned:
        opts["AWS_NO_SIGN_REQUEST"] = "YES"
    if settings.requester_pays:
        opts["AWS_REQUEST_PAYER"] = "requester"
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        u = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        opts["AWS_S3_ENDPOINT"] = u.netloc
        opts["AWS_HTTPS"] = "NO" if u.scheme == "http" else "YES"
        opts["AWS_VIRTUAL_HOSTING"] = "FALSE"
    return opts


def configure(settings: S3ReadSettings, environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Put the options into the environment GDAL reads (``os.environ``), keeping any the user
    set; returns those it set."""
    env = os.environ if environ is None else environ
    added = {}
    for k, v in gdal_options(settings, env).items():
        if k not in env:
            env[k] = v
            added[k] = v
    return added


def settings_from_cache_config(config: Mapping[str, Any]) -> S3ReadSettings:
    """The read settings a task cache records (``s3``, from the source profile)."""
    return S3ReadSettings.from_mapping(config.get("s3"))


def access_hint(message: str, uri: str) -> str:
    """What to add to a read error that is S3 refusing access (GDAL says only "HTTP response
    code: 403"): the object, and the settings that decide access."""
    if "403" not in message and "AccessDenied" not in message and "credentials" not in message.lower():
        return ""
    if not uri.startswith(("s3://", "/vsis3/")):
        return ""
    return (f" (access denied on {uri}: a public bucket is read unsigned, AWS_NO_SIGN_REQUEST=YES; a "
            "requester-pays one needs AWS_REQUEST_PAYER=requester; otherwise the credentials lack s3:GetObject)")
