"""Enumerate's estimate and ``max_cost`` against a moto server (issue 14, must-show 2, second
half): the estimate rides in Enumerate's state and the manifest; a ``max_cost`` below it
stops the run before any row is written or any message sent, naming both figures."""

from __future__ import annotations

import pytest

from statscore.errors import BudgetExceeded, ConfigError, SourceError
from statscore.ops.prices import worker_price
from statscore.orchestration import RunRequest, enumerate_run

PRICE = worker_price(["r6i.4xlarge"], spot=True, job_vcpus=16).to_dict()


def _quiet(msg: str) -> None:
    pass


def _rows(d) -> int:
    return d.clients.dynamodb.scan(TableName=d.cfg.table, Select="COUNT")["Count"]


def _objects(d) -> list[str]:
    return [o["Key"] for o in d.clients.s3.list_objects_v2(Bucket=d.cfg.cache_bucket).get("Contents", [])]


def test_enumerate_states_the_estimate(deployment):
    d = deployment.with_settings(worker_price=PRICE, worker_threads=16)
    state = enumerate_run("est-a", {"year": 2020}, d.cfg, d.clients, log=_quiet)
    est = state["estimate"]
    assert est["tiles"] == state["queued"] == 48 and est["plugin"] == "pq" and est["threads"] == 16
    assert est["datasets"] >= est["tiles"] and est["observations"] > 0
    assert est["prices"] == PRICE and est["model"]["plugin"] == "pq"
    assert est["cost_usd"] == pytest.approx(est["worker_hours"] * PRICE["usd_per_hour"], rel=1e-3)
    assert any("calibrated at 2 threads, the run uses 16" in n for n in est["notes"])
    manifest = d.s3_json(state["manifest"])
    assert len(manifest["estimate"]["seconds"]) == 48
    assert sum(manifest["estimate"]["seconds"].values()) == pytest.approx(est["worker_hours"] * 3600, rel=1e-3)


def test_max_cost_below_the_estimate_stops_before_anything_is_sent(deployment):
    d = deployment.with_settings(worker_price=PRICE, worker_threads=16)
    with pytest.raises(BudgetExceeded) as e:
        enumerate_run("est-b", {"year": 2020, "max_cost": 1e-6}, d.cfg, d.clients, log=_quiet)
    msg = str(e.value)
    assert msg.startswith("estimated cost US$") and "exceeds max_cost US$1e-06" in msg and "nothing was enqueued" in msg
    assert d.queued() == 0 and _rows(d) == 0
    assert not any(k.endswith("manifest.json") for k in _objects(d))
    # a budget above the estimate runs
    state = enumerate_run("est-c", {"year": 2020, "max_cost": 100.0}, d.cfg, d.clients, log=_quiet)
    assert state["queued"] == 48 and d.queued() == 48 and _rows(d) == 48


def test_max_cost_without_a_price_refuses_to_guess(deployment):
    with pytest.raises(BudgetExceeded, match="cannot be priced"):
        enumerate_run("est-d", {"year": 2020, "max_cost": 5}, deployment.cfg, deployment.clients, log=_quiet)
    assert deployment.queued() == 0 and _rows(deployment) == 0


@pytest.mark.parametrize("bad", [-1, "ten", True, float("nan")])
def test_max_cost_must_be_dollars(bad):
    with pytest.raises(ConfigError, match="max_cost"):
        RunRequest.parse({"year": 2020, "max_cost": bad})


def test_enumerate_fails_before_spending_on_a_bad_run_config(deployment):
    d = deployment.with_settings(run_config={**deployment.cfg.run_config, "cog_opts": {"zlevel": 15}})
    with pytest.raises(ConfigError, match="ZLEVEL"):
        enumerate_run("bad-cog", {"year": 2020}, d.cfg, d.clients, log=_quiet)
    d = deployment.with_settings(output_location="s3://no-such-bucket-statscore/x")
    with pytest.raises(SourceError, match="cannot write.*NoSuchBucket"):
        enumerate_run("bad-out", {"year": 2020}, d.cfg, d.clients, log=_quiet)
    assert deployment.queued() == 0 and _rows(deployment) == 0 and _objects(deployment) == []
