"""summarise_run on a moto server: summary.json next to the manifest, the product's STAC
collection at the output root carrying the configured ACL, the periods it covers."""

from __future__ import annotations

from statscore.orchestration import summarise_run

FILEDB = "s3://caches/run/tasks.db"
PUBLIC_READ = ("http://acs.amazonaws.com/groups/global/AllUsers", "READ")


def _run_with_rows(d, run_id: str) -> list[str]:
    ids = ["2019--P1Y/40/20", "2020--P1Y/40/20", "2020--P1Y/41/20"]
    d.table.put_pending(run_id, ids, FILEDB)
    d.table.mark_done(ids[0], "s3://out/a.stac-item.json", 3.0)
    d.table.mark_done(ids[1], "s3://out/b.stac-item.json", 5.25)
    d.table.mark_failed(ids[2], "InputError: band SCL unreadable", 1.0)
    return ids


def test_summary_and_collection_are_written_with_the_acl(deployment):
    d = deployment.with_settings(run_config={**deployment.cfg.run_config, "s3_acl": "public-read"})
    ids = _run_with_rows(d, "run-s")
    state = {"run_id": "run-s", "request": {"year": 2020}, "filedb": FILEDB, "tasks": 3, "round": 2,
             "verdict": "failed", "cause": "1 of 3 tasks not done"}
    out = summarise_run(state, d.cfg, d.clients)
    assert out["summary"] == f"s3://{d.cfg.cache_bucket}/caches/run-s/summary.json"
    assert out["cause"] == state["cause"] and out["counts"] == {"DONE": 2, "FAILED": 1}
    summary = d.s3_json(out["summary"])
    assert {k: summary[k] for k in ("run_id", "verdict", "rounds", "tasks", "counts", "task_seconds")} == {
        "run_id": "run-s", "verdict": "failed", "rounds": 2, "tasks": 3, "counts": {"DONE": 2, "FAILED": 1},
        "task_seconds": {"total": 9.2, "max": 5.2}}
    assert summary["not_done"] == [{"task": ids[2], "state": "FAILED", "reason": "InputError: band SCL unreadable"}]

    assert out["collection"] == f"s3://{d.output_bucket}/stats/collection.json"
    coll = d.s3_json(out["collection"])
    assert coll["type"] == "Collection" and coll["id"] == "ga_s2_test"
    assert coll["extent"]["temporal"]["interval"] == [["2019-01-01T00:00:00Z", "2020-12-31T23:59:59.999999Z"]]
    grants = {(g["Grantee"].get("URI", g["Grantee"].get("ID")), g["Permission"])
              for g in d.clients.s3.get_object_acl(Bucket=d.output_bucket, Key="stats/collection.json")["Grants"]}
    assert PUBLIC_READ in grants


def test_without_an_acl_the_collection_is_private_and_without_an_output_there_is_none(deployment):
    d = deployment
    _run_with_rows(d, "run-p")
    state = {"run_id": "run-p", "filedb": FILEDB, "verdict": "done"}
    out = summarise_run(state, d.cfg, d.clients)
    grants = d.clients.s3.get_object_acl(Bucket=d.output_bucket, Key="stats/collection.json")["Grants"]
    assert PUBLIC_READ not in {(g["Grantee"].get("URI"), g["Permission"]) for g in grants}
    assert out["collection"].endswith("/stats/collection.json")
    out = summarise_run(state, d.with_settings(output_location="").cfg, d.clients)
    assert "collection" not in out and out["summary"].endswith("/run-p/summary.json")
