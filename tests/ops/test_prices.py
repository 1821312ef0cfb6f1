"""Prices of a worker-hour: the shipped table, overrides, the dearest configured type."""

from __future__ import annotations

import pytest

from statscore.errors import ConfigError
from statscore.ops.prices import default_prices, worker_price


def test_the_shipped_table_states_its_source_and_date():
    t = default_prices()
    assert "us-east-1" in t.source and t.as_of
    assert t.instances["r6i.4xlarge"].vcpus == 16 and t.instances["r6i.4xlarge"].on_demand == pytest.approx(1.008)


def test_the_dearest_per_vcpu_is_priced_for_the_workers_share():
    p = worker_price(["r6a.4xlarge", "r6i.4xlarge"], spot=False, job_vcpus=16)
    assert (p.instance_type, p.pricing, p.usd_per_hour) == ("r6i.4xlarge", "on-demand", pytest.approx(1.008))
    half = worker_price(["r6i.4xlarge"], spot=True, job_vcpus=8)
    assert half.usd_per_hour == pytest.approx(default_prices().instances["r6i.4xlarge"].spot / 2)


def test_overrides_replace_entries_and_name_the_source():
    t = default_prices().merged({"source": "my quote", "as_of": "2026-12-01",
                                 "instances": {"r6i.4xlarge": {"vcpus": 16, "on_demand": 1.2, "spot": 0.3}}})
    p = worker_price(["r6i.4xlarge"], spot=True, table=t)
    assert (p.source, p.as_of, p.usd_per_hour) == ("my quote", "2026-12-01", 0.3)


def test_an_unpriced_type_is_named():
    with pytest.raises(ConfigError, match="no price for instance type 'r6i.4xlarg' \\(did you mean 'r6i.4xlarge'\\?\\)"):
        worker_price(["r6i.4xlarg"], spot=True)
    with pytest.raises(ConfigError, match="unknown key 'instance'"):
        default_prices().merged({"instance": {}})
