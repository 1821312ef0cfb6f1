import pytest

from statscore.errors import InputError
from statscore.task import TileIdx, group_key, parse_task, parse_tile_range, render_task, task_folder


@pytest.mark.parametrize(
    "text",
    ["2015--P1Y/49/24", "2015--P1Y,49,24", "x49/y24/2015--P1Y", "x+049/y+024/2015--P1Y", "au-30/2015--P1Y/+0049/+0024"],
)
def test_every_form_parses_to_the_same_task(text):
    assert parse_task(text) == TileIdx("2015--P1Y", 49, 24)


def test_negative_and_padded_indices():
    assert parse_task("x-003/y+004/2019-12--P3M") == ("2019-12--P3M", -3, 4)


def test_renderings_round_trip():
    t = TileIdx("2019--P1Y", 3, 4)
    assert render_task(t) == "2019--P1Y/03/04"
    assert group_key("au_30", t) == "au_30/2019--P1Y/+0003/+0004"
    assert task_folder(t) == "x03/y04/2019--P1Y"
    for s in (render_task(t), group_key("au_30", t), task_folder(t)):
        assert parse_task(s) == t


@pytest.mark.parametrize("bad", ["", "2015/49/24", "x1/y2", "2015--P1Y/a/b"])
def test_bad_task_names_the_input(bad):
    with pytest.raises(InputError, match="expected forms"):
        parse_task(bad)


def test_tile_range():
    r = parse_tile_range("40:45,20:22")
    assert (r.x0, r.x1, r.y0, r.y1) == (40, 45, 20, 22)
    assert r.contains(40, 21) and not r.contains(45, 21)
    with pytest.raises(InputError):
        parse_tile_range("4:4,1:2")
    with pytest.raises(InputError):
        parse_tile_range("4-5")
