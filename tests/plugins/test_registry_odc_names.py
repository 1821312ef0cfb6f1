"""Our registry against odc-stats 1.9.14's own: every name it registers is ours too,
except the three model-based land-cover classifiers the README explains."""

from __future__ import annotations

import importlib
import pkgutil

from statscore.plugins import list_plugins

NOT_PORTED = {"urban_class", "cultivated_class", "woody_cover"}
OURS_ONLY = {"medoid-generic", "model-pixel"}


def odc_stats_names() -> set[str]:
    """Names odc-stats registers once every module of ``odc.stats.plugins`` is imported
    (its ``import_all`` misses ndvi-median and S2Cloudless_percentiles)."""
    import odc.stats.plugins as pkg
    from odc.stats.plugins._registry import _plugins

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    return set(_plugins)


def test_every_odc_stats_plugin_name_is_ours_but_the_classifiers():
    theirs, ours = odc_stats_names(), set(list_plugins())
    assert len(theirs) == 20
    assert theirs - ours == NOT_PORTED
    assert ours - theirs == OURS_ONLY


NEW = ("ndvi-median", "wofs-summary-fh", "mangroves", "veg_count", "dem_in_stats",
       "s2_gm_tools.S2Cloudless_percentiles", "veg_class_l1", "lccs_level34")


def test_new_plugins_publish_odc_stats_product_names():
    """NAME (the product name outputs are published under), VERSION and PRODUCT_FAMILY."""
    from odc.stats.plugins._registry import _plugins

    odc_stats_names()
    ours = list_plugins()
    for name in NEW:
        theirs = _plugins[name].args[0]  # register() stores partial(_new, cls)
        assert (ours[name].NAME, ours[name].VERSION, ours[name].PRODUCT_FAMILY) == \
            (theirs.NAME, theirs.VERSION, theirs.PRODUCT_FAMILY), name
