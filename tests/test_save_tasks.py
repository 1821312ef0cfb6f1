"""``odc-stats save-tasks`` end to end from documents on disk, and its bad-input behaviour."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from odc.dscache import DatasetCache

from statscore.cli import main

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def export_documents(cache_path: Path, out: Path) -> Path:
    """Write a cache's eo3 documents and product definitions as files, as a user's store."""
    cache = DatasetCache.open_ro(str(cache_path))
    out.mkdir(parents=True, exist_ok=True)
    for name, mt in cache.metadata.items():
        (out / f"{name}.odc-type.yaml").write_text(yaml.dump(mt.definition, Dumper=_Dumper))
    for name, p in cache.products.items():
        (out / f"{name}.odc-product.yaml").write_text(yaml.dump(p.definition, Dumper=_Dumper))
    for ds in cache.get_all():
        doc = {k: v for k, v in ds.metadata_doc.items() if k not in ("grid_spatial", "extent")}
        (out / f"{ds.id}.odc-metadata.yaml").write_text(yaml.dump(doc, Dumper=_Dumper))
    return out


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def groups(path: Path) -> dict[str, set[str]]:
    c = DatasetCache.open_ro(str(path))
    return {name.split("/", 1)[1]: {str(u) for u in c.get_group(name)} for name, _ in c.groups()}


@pytest.fixture(scope="module")
def ls8_docs(tmp_path_factory) -> Path:
    src = Path(__file__).parent / "data" / "ga_ls8c_ard_3_2015-01--P3M.db"
    return export_documents(src, tmp_path_factory.mktemp("ls8") / "docs")


def test_save_tasks_from_documents_reproduces_the_odc_stats_cache(ls8_docs, ls8_cache, tmp_path):
    out = tmp_path / "ls8.db"
    r = run("save-tasks", "--grid", "au-30", "--temporal-range", "2015-01--P3M", "--frequency", "annual",
            "--input-products", str(ls8_docs), str(out))
    assert r.exit_code == 0, r.output
    assert "2,470 datasets -> 1,487 tasks" in r.output
    assert groups(out) == groups(ls8_cache)
    ours = DatasetCache.open_ro(str(out))
    assert ours.count == 2470
    assert ours.get_info_dict("stats/config")["grid"] == "au-30"
    assert set(ours.products) == {"ga_ls8c_ard_3"}
    # the cache holds complete documents: any dataset reads back with its footprint and time
    ds = next(iter(ours.get_all()))
    assert ds.extent is not None and ds.center_time.year in (2014, 2015)


def test_csv_and_geojson_in_odc_stats_format(ls8_docs, tmp_path):
    out = tmp_path / "plan.db"
    r = run("save-tasks", "--grid", "au_30", "--year", "2015", "--tiles", "40:45,30:35",
            "--input-products", str(ls8_docs), str(out))
    assert r.exit_code == 0, r.output
    lines = (tmp_path / "plan.csv").read_text().splitlines()
    assert lines[0] == '"T","X","Y","datasets","days"'
    rows = list(csv.reader(lines[1:], skipinitialspace=True))
    assert rows and all(r[0] == "2015--P1Y" and 40 <= int(r[1]) < 45 and 30 <= int(r[2]) < 35 for r in rows)
    assert lines[1].startswith('"2015--P1Y", +0040, +0030,')
    cache_groups = groups(out)
    for t, x, y, n, days in rows:
        assert len(cache_groups[f"{t}/{int(x):+05d}/{int(y):+05d}"]) == int(n)
        assert 1 <= int(days) <= int(n)
    gj = json.loads((tmp_path / "plan-2015--P1Y.geojson").read_text())
    feats = gj["features"]
    assert len(feats) == len(rows)
    props = feats[0]["properties"]
    assert set(props) == {"title", "region_code", "ix", "iy", "utc_offset", "total", "days"}
    assert props["utc_offset"] == 10.0  # eastern Australia
    lon, lat = feats[0]["geometry"]["coordinates"][0][0]
    assert 140 < lon < 155 and -45 < lat < -10



def test_no_datasets_exits_0_and_writes_nothing(ls8_docs, tmp_path):
    out = tmp_path / "empty.db"
    r = run("save-tasks", "--grid", "au-30", "--year", "2001", "--input-products", str(ls8_docs), str(out))
    assert r.exit_code == 0
    assert "found no datasets" in r.output or "none falls in a task" in r.output
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(ls8_docs, tmp_path):
    out = tmp_path / "x.db"
    args = ["save-tasks", "--grid", "au-30", "--year", "2015", "--tiles", "40:41,30:31", "--input-products", str(ls8_docs)]
    assert run(*args, str(out)).exit_code == 0
    r = run(*args, str(out))
    assert r.exit_code == 1 and "already exists; pass --overwrite" in r.output
    assert run(*args, "--overwrite", str(out)).exit_code == 0


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--grid", "au-31"], "unknown grid 'au-31'"),
        (["--grid", "au-30", "--frequency", "anual"], "unknown frequency 'anual' (did you mean 'annual'?)"),
        (["--grid", "au-30", "--temporal-range", "2019-P1Y"], "malformed period '2019-P1Y'"),
        (["--grid", "au-30", "--year", "2019", "--temporal-range", "2019--P1Y"], "one of --year or --temporal-range"),
        (["--grid", "au-30", "--frequency", "rolling-3months"], "needs --temporal-range or --year"),
        (["--grid", "au-30", "--tiles", "1-2"], "--tiles '1-2'"),
        (["--grid", "au-30", "--dataset-filter", "{oops"], "not valid JSON"),
    ],
)
def test_bad_options_give_one_line_and_exit_1(args, needle, tmp_path):
    r = run("save-tasks", *args, "--input-products", str(tmp_path), str(tmp_path / "o.db"))
    assert r.exit_code == 1
    assert needle in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "o.db").exists()


def test_invalid_document_is_named_and_nothing_is_written(ls8_docs, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for p in sorted(ls8_docs.iterdir())[:20]:
        (docs / p.name).write_text(p.read_text())
    bad = docs / "broken.odc-metadata.yaml"
    bad.write_text("id: [unclosed\n")
    r = run("save-tasks", "--grid", "au-30", "--input-products", str(docs), str(tmp_path / "o.db"))
    assert r.exit_code == 1
    assert str(bad) in r.output and "unreadable document" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]


def test_unreachable_database_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("ODC_DEFAULT_DB_URL", "postgresql://nobody@127.0.0.1:9/nodb")
    monkeypatch.setenv("ODC_DEFAULT_INDEX_DRIVER", "postgres")
    r = run("save-tasks", "--grid", "au-30", "--year", "2019", "--input-products", "ga_ls8c_ard_3", str(tmp_path / "o.db"))
    assert r.exit_code == 1
    assert "cannot use the datacube database, environment 'default' (postgresql://nobody@127.0.0.1:9/nodb)" in r.output
    assert list(tmp_path.iterdir()) == []


def test_unknown_config_key_suggests(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("grid: au-30\nfrequncy: annual\n")
    r = run("save-tasks", "--config", str(cfg), "--input-products", str(tmp_path), str(tmp_path / "o.db"))
    assert r.exit_code == 1 and "unknown key 'frequncy' (did you mean 'frequency'?)" in r.output


def test_stac_item_with_a_band_its_first_item_lacks_is_named(tmp_path):
    """datacube derives a STAC product from the first item it sees and silently drops the
    bands of later items that the first lacks (every task would then fail naming a good
    dataset): planning stops instead, naming both items and the band."""
    from statscore.sampledata import generate_scenes

    recs = generate_scenes(tmp_path / "data", product="s2_l2a", start="2020-01-01", end="2020-01-06", size_px=32)
    items = sorted(str(r.stac_path) for r in recs)
    assert len(items) >= 2
    first = json.loads(Path(items[0]).read_text())
    del first["assets"]["SCL"]
    Path(items[0]).write_text(json.dumps(first))
    r = run("save-tasks", "--grid", "au_extended_s2_80", "--temporal-range", "2020-01--P1M", "--frequency", "all",
            "--input-products", f"{tmp_path}/data/**/*.stac-item.json", str(tmp_path / "o.db"))
    assert r.exit_code == 1
    (line,) = r.output.strip().splitlines()
    assert f"{items[1]}: band(s) SCL missing from product 's2_l2a' as derived from its first STAC item {items[0]}" in line
    assert not (tmp_path / "o.db").exists()
