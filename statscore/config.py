"""The ``run`` configuration file (odc-stats' keys), validated once into typed objects.

Unlike odc-stats, an unknown or misspelt key is an error that names it and suggests the
right one. Command-line options override the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError, suggest

__all__ = ["ProductConfig", "RunConfig", "load_run_config", "read_yaml_mapping"]


def read_yaml_mapping(source: str | Path, what: str, *, inline: bool = False) -> dict[str, Any]:
    """A YAML mapping from a file (or, with ``inline``, from text that looks like YAML).

    Every failure is a one-line :class:`ConfigError` that starts with ``what`` (the option).
    """
    text = str(source)
    looks_inline = inline and (text.lstrip().startswith("{") or ":" in text)
    try:
        raw = text if looks_inline else Path(text).read_text(encoding="utf8")
        data = yaml.safe_load(raw) or {}
    except OSError as e:
        raise ConfigError(f"{what} {text}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{what}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what}: expected a mapping of settings")
    return data


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductConfig(_Strict):
    """``product:`` — how outputs are named and described."""

    name: str | None = None
    short_name: str | None = None
    version: str = "0.0.0"
    product_family: str | None = None
    """Default: the plugin's (``geomedian``, ``statistics``...)."""
    collections_site: str = ""
    producer: str = "example.org"
    properties: dict[str, Any] = Field(default_factory=dict)
    region_code_format: str = "x{x:02d}y{y:02d}"
    naming_conventions_values: str = "dea_c3"
    explorer_path: str = ""
    classifier: str = "level3"
    maturity: str | None = None
    collection_number: int = 3
    nodata: dict[str, int | float] | None = None


class RunConfig(_Strict):
    """Top-level keys of odc-stats' run config."""

    plugin: str | None = None
    plugin_config: dict[str, Any] = Field(default_factory=dict)
    product: ProductConfig = Field(default_factory=ProductConfig)
    threads: int = -1
    memory_limit: str = ""
    output_location: str | None = None
    s3_acl: str | None = None
    overwrite: bool = False
    update: bool = False
    """Recompute only tasks whose input fingerprint differs from their product's (``run --update``)."""
    max_processing_time: int = 0
    job_queue_max_lease: int = 300
    renew_safety_margin: int = 30
    future_poll_interval: int = 5
    heartbeat_filepath: str | None = None
    cog_opts: dict[str, Any] = Field(default_factory=dict)
    resampling: str | None = None
    resolution: float | None = None
    dataset_filters: str | None = None

    @model_validator(mode="after")
    def _resampling_to_plugin(self) -> RunConfig:
        """odc-stats hands ``resampling`` to the plugin as ``plugin_config.resampling``."""
        if self.resampling:
            self.plugin_config["resampling"] = self.resampling
        return self

    def merged(self, **overrides: Any) -> RunConfig:
        """A copy with command-line values (those not None) applied."""
        data = self.model_dump()
        for k, v in overrides.items():
            if v is None:
                continue
            if k == "product":
                data["product"] = {**data["product"], **v}
            else:
                data[k] = v
        return _validate(data, "command line")


def _fields(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _validate(data: dict[str, Any], where: str) -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            key = str(err["loc"][-1])
            valid = _fields(ProductConfig) if len(err["loc"]) > 1 and err["loc"][0] == "product" else _fields(RunConfig)
            raise ConfigError(f"{where}: unknown key {loc!r}{suggest(key, valid)}; valid keys: {', '.join(valid)}") from None
        raise ConfigError(f"{where}: {loc}: {err['msg']}") from None


def load_run_config(path: str | Path | None) -> RunConfig:
    """Read and validate a run config YAML (``None``: all defaults)."""
    if path is None:
        return RunConfig()
    return _validate(read_yaml_mapping(path, f"--config {path}"), str(path))
