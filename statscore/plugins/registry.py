"""Plugin registry: short names (``gm-s2``, ``pq``...) or dotted class paths, with the
``plugin_config`` keys checked against the plugin's constructor."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, suggest
from ._base import StatsPlugin

__all__ = ["register", "plugin_class", "resolve_plugin", "list_plugins", "config_keys", "required_keys",
           "effective_config"]

_PLUGINS: dict[str, type[StatsPlugin]] = {}

#: Modules whose plugins register themselves on import.
_BUILTIN_MODULES = ("gm", "gm_ls_bitmask", "pq", "pq_bitmask", "wofs", "fc_percentiles",
                    "tcw_percentiles", "medoid",
                    "ndvi", "wofs_history", "landcover", "mangroves", "cloud_percentiles", "model")


def register(name: str, plugin: type[StatsPlugin]) -> type[StatsPlugin]:
    """Register ``plugin`` under the short ``name`` (replacing any earlier one)."""
    if not (isinstance(plugin, type) and issubclass(plugin, StatsPlugin)):
        raise TypeError(f"{plugin!r} is not a StatsPlugin subclass")
    _PLUGINS[name] = plugin
    return plugin


def _load_builtins() -> None:
    for mod in _BUILTIN_MODULES:
        importlib.import_module(f"{__package__}.{mod}")


def list_plugins() -> dict[str, type[StatsPlugin]]:
    """Short name -> plugin class, for every registered plugin."""
    _load_builtins()
    return dict(sorted(_PLUGINS.items()))


def _locate(path: str) -> Any:
    module, _, attr = path.rpartition(".")
    if not module:
        return None
    try:
        mod = importlib.import_module(module)
    except ImportError:
        obj = _locate(module)  # a class nested in a class
        return getattr(obj, attr, None) if obj is not None else None
    return getattr(mod, attr, None)


def plugin_class(name: str) -> type[StatsPlugin]:
    """The class registered as ``name``, or the class at dotted path ``name``."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"plugin must be a short name or a dotted class path, got {name!r}")
    _load_builtins()
    if name in _PLUGINS:
        return _PLUGINS[name]
    if "." in name:
        cls = _locate(name)
        if cls is None:
            raise ConfigError(f"plugin class {name!r} not found (no such module or attribute)")
        if not (isinstance(cls, type) and issubclass(cls, StatsPlugin)):
            raise ConfigError(f"plugin {name!r} is not a subclass of statscore.plugins.StatsPlugin")
        return cls
    raise ConfigError(f"unknown plugin {name!r}{suggest(name, list(_PLUGINS))};"
                      f" known plugins: {', '.join(sorted(_PLUGINS))}, or a dotted class path")


def config_keys(cls: type[StatsPlugin]) -> tuple[str, ...]:
    """``plugin_config`` keys ``cls`` accepts: its constructor's keyword parameters and,
    while a constructor forwards ``**kwargs``, those of its bases."""
    keys: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        forwards = False
        for p in params:
            if p.name == "self" or p.kind is p.VAR_POSITIONAL:
                continue
            if p.kind is p.VAR_KEYWORD:
                forwards = True
            elif p.name not in keys:
                keys.append(p.name)
        if not forwards:
            break
    return tuple(keys)


def required_keys(cls: type[StatsPlugin]) -> tuple[str, ...]:
    """``plugin_config`` keys without a default in ``cls``'s constructor."""
    init = cls.__init__
    return tuple(p.name for p in inspect.signature(init).parameters.values()
                 if p.name != "self" and p.default is p.empty
                 and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))


def resolve_plugin(name: str, plugin_config: Mapping[str, Any] | None = None, /,
                   **config: Any) -> StatsPlugin:
    """A configured plugin: ``name`` is a short name or a dotted class path; the config
    (a mapping and/or keywords) is checked key by key before construction."""
    cls = plugin_class(name)
    cfg = dict(plugin_config or {})
    cfg.update(config)
    valid = config_keys(cls)
    for key in cfg:
        if key not in valid:
            raise ConfigError(f"unknown plugin_config key {key!r} for plugin {name!r}"
                              f"{suggest(str(key), valid)}; valid keys: {', '.join(valid)}")
    absent = [k for k in required_keys(cls) if k not in cfg]
    if absent:
        raise ConfigError(f"plugin {name!r} needs plugin_config key(s) {', '.join(map(repr, absent))}")
    try:
        return cls(**cfg)
    except TypeError as err:  # e.g. a required key missing
        raise ConfigError(f"plugin {name!r}: {err}") from None


#: ``plugin_config`` keys that set how a result is computed (threads, memory, chunking), not
#: what it is: left out of :func:`effective_config`, so tuning them never makes a product stale.
RUNTIME_KEYS = frozenset({"num_threads", "block_bytes", "work_chunks", "chunks", "reshape_strategy"})


def effective_config(plugin: StatsPlugin, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every output-relevant ``plugin_config`` key of ``plugin``'s class with the value in
    effect: what the constructed plugin holds under that name (defaults and normalisation
    applied), else the value given. Two configs that spell the same settings differently
    compare equal, and a changed default shows; used to fingerprint a product's inputs."""
    given = dict(given or {})
    held = vars(plugin)
    out: dict[str, Any] = {}
    for key in config_keys(type(plugin)):
        if key in RUNTIME_KEYS:
            continue
        if key in held:
            out[key] = held[key]
        elif key in given:
            out[key] = given[key]
    return out
