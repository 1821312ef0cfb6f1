"""``odc-stats run --update``: after new scenes arrive, only the tiles whose inputs changed are
recomputed; every other product is left byte for byte, mtime for mtime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from statscore.cli import main
from statscore.outputs import FINGERPRINT_PROPERTY
from statscore.run import TaskReader
from statscore.sampledata import generate_scenes
from statscore.task import render_task, task_folder

PERIOD = "2020-01--P1M"


def _save_tasks(docs: str, db: Path) -> None:
    r = CliRunner().invoke(main, ["save-tasks", "--grid", "au_extended_s2_80", "--temporal-range", PERIOD,
                                  "--frequency", "all", "--input-products", docs, str(db)])
    assert r.exit_code == 0, r.output


def _state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and mtime (ns)."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _item(out: Path, tile) -> dict:
    return json.loads(next(out.rglob(f"{task_folder(tile)}/*.stac-item.json")).read_text())


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """Scenes to 20 January, planned; then the next acquisition arrives (generated into its
    own folder) and save-tasks plans the period again from all the documents."""
    root = tmp_path_factory.mktemp("update")
    generate_scenes(root / "data" / "first", product="s2_l2a", start="2020-01-01", end="2020-01-20", size_px=32)
    first = root / "first.db"
    _save_tasks(f"{root}/data/first/**/*.stac-item.json", first)
    new = generate_scenes(root / "data" / "new", product="s2_l2a", start="2020-01-21", end="2020-01-31",
                          size_px=32, limit=1)
    assert new
    replanned = root / "replanned.db"
    _save_tasks(f"{root}/data/**/*.stac-item.json", replanned)
    before = {t: set(ids) for t, ids in TaskReader(str(first)).tasks.items()}
    after = {t: set(ids) for t, ids in TaskReader(str(replanned)).tasks.items()}
    changed = sorted(t for t in before if after.get(t) != before[t])
    same = sorted(t for t in before if after.get(t) == before[t])
    assert len(changed) >= 2 and len(same) >= 2, (len(changed), len(same))
    return first, replanned, changed, same


def test_update_recomputes_exactly_the_tiles_with_new_scenes(scenario, tmp_path):
    first, db, changed, same = scenario
    out = tmp_path / "out"
    location = out.as_uri()
    # the products: two tiles the new scene touches and two it does not
    tiles = changed[:2] + same[:2]
    args = [render_task(t) for t in tiles]

    r = CliRunner().invoke(main, ["run", str(first), *args, "--plugin", "pq", "--location", location])
    assert r.exit_code == 0, r.output
    assert "4 tasks: 4 done, 0 skipped, 0 failed" in r.output
    old_items = {t: _item(out, t) for t in tiles}
    for t in tiles:
        assert old_items[t]["properties"][FINGERPRINT_PROPERTY].startswith("sha256:")
    folders = {t: next(out.rglob(task_folder(t))) for t in tiles}
    eo3 = next(folders[tiles[0]].glob("*.odc-metadata.yaml")).read_text()
    assert old_items[tiles[0]]["properties"][FINGERPRINT_PROPERTY] in eo3
    snap = {t: _state(folders[t]) for t in tiles}

    # nothing new yet against the old cache: an update changes nothing at all
    r = CliRunner().invoke(main, ["run", str(first), *args, "--plugin", "pq", "--location", location, "--update"])
    assert r.exit_code == 0, r.output
    assert "4 tasks: 0 done, 0 skipped, 4 unchanged, 0 failed" in r.output
    assert {t: _state(folders[t]) for t in tiles} == snap

    # the new cache, dry run then update: exactly the two tiles the new scene touches
    r = CliRunner().invoke(main, ["run", str(db), *args, "--plugin", "pq", "--location", location, "--update",
                                  "--dryrun"])
    assert r.exit_code == 0, r.output
    assert "4 tasks: 0 new, 2 changed, 2 unchanged" in r.output
    r = CliRunner().invoke(main, ["run", str(db), *args, "--plugin", "pq", "--location", location, "--update"])
    assert r.exit_code == 0, r.output
    assert "4 tasks: 2 done, 0 skipped, 2 unchanged, 0 failed" in r.output
    lines = {line.split()[0]: line.split()[1] for line in r.output.splitlines() if line.startswith("2020")}
    assert lines == {args[0]: "done", args[1]: "done", args[2]: "unchanged", args[3]: "unchanged"}

    for t in same[:2]:  # untouched: same bytes, same mtime, every file
        assert _state(folders[t]) == snap[t]
    for t in changed[:2]:  # recomputed from the new scene too
        now = _state(folders[t])
        assert set(now) == set(snap[t])
        tifs = [n for n in now if n.endswith("_total.tif")]
        assert tifs and now[tifs[0]][0] != snap[t][tifs[0]][0]  # one more observation counted
        item = _item(out, t)
        assert item["properties"][FINGERPRINT_PROPERTY] != old_items[t]["properties"][FINGERPRINT_PROPERTY]
        assert set(item["properties"]["odc:lineage"]["inputs"]) > set(old_items[t]["properties"]["odc:lineage"]["inputs"])

    # and again: everything is up to date now
    r = CliRunner().invoke(main, ["run", str(db), *args, "--plugin", "pq", "--location", location, "--update"])
    assert "4 tasks: 0 done, 0 skipped, 4 unchanged, 0 failed" in r.output


def test_update_with_overwrite_is_one_clear_error(scenario, tmp_path):
    first, db, _, _ = scenario
    r = CliRunner().invoke(main, ["run", str(db), "0", "--plugin", "pq", "--location", tmp_path.as_uri(),
                                  "--update", "--overwrite"])
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        "Error: update and overwrite: give one (update recomputes the tasks whose inputs changed, overwrite "
        "recomputes every task)"]
    assert not any(tmp_path.iterdir())
