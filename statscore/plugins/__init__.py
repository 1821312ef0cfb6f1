"""Statistics plugins (odc-stats' names, bands, dtypes and defaults) and their registry.

``resolve_plugin("gm-s2", work_chunks=[512, 512])`` or
``resolve_plugin("mypkg.module.MyPlugin", **plugin_config)`` gives a configured
:class:`StatsPlugin`; ``list_plugins()`` names every registered one.
"""

from ._base import DaySumPlugin, StatsPlugin, add_sums
from .registry import config_keys, list_plugins, plugin_class, register, resolve_plugin

__all__ = ["DaySumPlugin", "StatsPlugin", "add_sums", "config_keys", "list_plugins", "plugin_class", "register", "resolve_plugin"]
