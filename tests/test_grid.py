import pytest

from statscore.errors import ConfigError
from statscore.grid import GRIDS, parse_grid, tile_bounds


@pytest.mark.parametrize("name", ["au_30", "au-30", "au_extended_s2_20", "global_10", "africa-10"])
def test_named_grids_keep_the_spelling_given(name):
    got, gs = parse_grid(name)
    assert got == name
    assert gs is GRIDS[name.replace("-", "_")]


@pytest.mark.parametrize(
    "name,epsg,tile,origin",
    [
        ("au_30", 3577, 96_000, (-2688000, -5472000)),
        ("au_extended_60", 3577, 96_000, (-4416000, -6912000)),
        ("au_extended_s2_40", 3577, 32_000, (-4416000, -6912000)),
        ("global_20", 6933, 96_000, (-17376000, -7392000)),
        ("africa_30", 6933, 96_000, (-17376000, -7392000)),
    ],
)
def test_grid_table_values(name, epsg, tile, origin):
    """The grid table of shared/notes/odc-stats.md, typed in."""
    gs = GRIDS[name]
    assert gs.crs.epsg == epsg
    assert tuple(gs.tile_size.xy) == (tile, tile)
    assert tuple(gs.origin.xy) == origin


def test_every_named_grid_is_odc_stats_own():
    """Each named grid equals the GridSpec odc-stats' save-tasks resolves the name to
    (odc-dscache 1.9.1's GRIDS table), and every name there is one of ours."""
    from odc.dscache.tools.tiling import GRIDS as THEIRS

    assert set(THEIRS) - {"au", "au_extended", "au_extended_s2", "global"} <= set(GRIDS)
    for name, gs in GRIDS.items():
        ref = THEIRS[name]
        assert gs.crs == ref.crs, name
        assert tuple(gs.tile_shape.yx) == tuple(ref.tile_shape.yx), name
        assert tuple(gs.resolution.xy) == tuple(ref.resolution.xy), name
        assert tuple(gs.origin.xy) == tuple(ref.origin.xy), name


def test_tile_bounds_agree_with_odc_geo_geobox():
    gs = GRIDS["au_30"]
    for idx in [(0, 0), (6, 25), (49, 24), (-3, 7)]:
        assert tile_bounds(gs, *idx) == tuple(gs.tile_geobox(idx).extent.boundingbox)


def test_spec_strings():
    name, gs = parse_grid("epsg:6933;10;9600")
    assert name == "epsg:6933_10_9600"
    assert gs.crs.epsg == 6933 and tuple(gs.tile_size.xy) == (96000, 96000)
    _, gs = parse_grid("epsg:3577;-20x20;100x200")
    assert tuple(gs.tile_size.xy) == (4000, 2000)


@pytest.mark.parametrize("bad,needle", [("au_31", "did you mean"), ("nowhere", "valid:"), ("epsg:3577;x;10", "numbers"),
                                        ("epsg:999999;10;10", "unknown CRS"), ("", "required")])
def test_bad_grids_say_what_is_valid(bad, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_grid(bad)
