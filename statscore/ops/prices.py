"""What a worker-hour costs: instance prices (on-demand and spot) and the share a worker pays.

The default table ships as package data (``prices.yaml``: source and date stated in it);
a deployment or a user may replace entries (``prices`` in ``cdk.json``, ``--prices FILE``).
A Batch worker job takes ``job_vcpus`` of an instance, so one worker-hour costs the
instance's hourly price times ``job_vcpus / vcpus``. With several configured instance
types the dearest per vCPU is used: an estimate that guards a budget errs high.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

import yaml

from ..errors import ConfigError, suggest

__all__ = ["InstancePrice", "PriceTable", "WorkerPrice", "default_prices", "worker_price"]


@dataclass(frozen=True)
class InstancePrice:
    """One instance type's size and hourly prices (USD)."""

    vcpus: int
    on_demand: float
    spot: float | None = None
    memory_gib: float | None = None


@dataclass(frozen=True)
class PriceTable:
    """Instance type -> :class:`InstancePrice`, with where the figures come from and when."""

    source: str
    as_of: str
    instances: Mapping[str, InstancePrice]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "price table") -> PriceTable:
        """A table from ``{source, as_of, instances: {type: {vcpus, on_demand, spot}}}``."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping with source, as_of and instances")
        unknown = [k for k in data if k not in ("source", "as_of", "instances")]
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}{suggest(unknown[0], ['source', 'as_of', 'instances'])}")
        instances: dict[str, InstancePrice] = {}
        for name, row in (data.get("instances") or {}).items():
            if not isinstance(row, Mapping):
                raise ConfigError(f"{where}: instances.{name}: expected {{vcpus, on_demand, spot}}")
            try:
                instances[str(name)] = InstancePrice(
                    vcpus=int(row["vcpus"]), on_demand=float(row["on_demand"]),
                    spot=float(row["spot"]) if row.get("spot") is not None else None,
                    memory_gib=float(row["memory_gib"]) if row.get("memory_gib") is not None else None)
            except KeyError as e:
                raise ConfigError(f"{where}: instances.{name}: missing {e.args[0]!r}") from None
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: instances.{name}: vcpus and prices must be numbers") from None
            if instances[str(name)].vcpus < 1 or instances[str(name)].on_demand < 0:
                raise ConfigError(f"{where}: instances.{name}: vcpus must be >= 1 and prices >= 0")
        return cls(source=str(data.get("source", "")), as_of=str(data.get("as_of", "")), instances=instances)

    def merged(self, override: Mapping[str, Any] | None, where: str = "prices") -> PriceTable:
        """This table with ``override``'s instances replacing or adding entries (and its source/date)."""
        if not override:
            return self
        other = PriceTable.from_mapping(override, where)
        return PriceTable(source=other.source or self.source, as_of=other.as_of or self.as_of,
                          instances={**self.instances, **other.instances})

    def to_mapping(self) -> dict[str, Any]:
        return {"source": self.source, "as_of": self.as_of,
                "instances": {k: {f: v for f, v in asdict(p).items() if v is not None}
                              for k, p in self.instances.items()}}


@dataclass(frozen=True)
class WorkerPrice:
    """What one worker-hour costs, and the figures it comes from (the ``prices`` of a usage record)."""

    source: str
    as_of: str
    instance_type: str
    pricing: str
    """``spot`` or ``on-demand``."""
    usd_per_hour: float
    """Per worker: the instance's hourly price x the worker's share of its vCPUs."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkerPrice:
        try:
            return cls(source=str(data.get("source", "")), as_of=str(data.get("as_of", "")),
                       instance_type=str(data["instance_type"]), pricing=str(data["pricing"]),
                       usd_per_hour=float(data["usd_per_hour"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError(f"worker price {dict(data)!r}: needs instance_type, pricing and usd_per_hour ({e})") from None


def default_prices() -> PriceTable:
    """The table shipped with statscore (``statscore/ops/prices.yaml``)."""
    text = resources.files(__package__).joinpath("prices.yaml").read_text(encoding="utf8")
    return PriceTable.from_mapping(yaml.safe_load(text), "statscore/ops/prices.yaml")


def worker_price(instance_types: Sequence[str], *, spot: bool, job_vcpus: int | None = None,
                 table: PriceTable | None = None) -> WorkerPrice:
    """The price of a worker-hour on the dearest (per vCPU) of ``instance_types``.

    ``job_vcpus``: the vCPUs a worker job takes (None: a whole instance). A type missing
    from the table, or without a spot price when ``spot``, is a :class:`ConfigError`.
    """
    table = table or default_prices()
    if not instance_types:
        raise ConfigError("no instance types to price")
    pricing = "spot" if spot else "on-demand"
    best: tuple[float, str, float] | None = None
    for name in instance_types:
        p = table.instances.get(name)
        if p is None:
            raise ConfigError(f"no price for instance type {name!r}{suggest(name, list(table.instances))}: "
                              f"add it to the price table (setting 'prices' or --prices)")
        hourly = p.spot if spot else p.on_demand
        if hourly is None:
            raise ConfigError(f"instance type {name!r} has no spot price in the price table")
        share = min(1.0, (job_vcpus or p.vcpus) / p.vcpus)
        per_vcpu = hourly / p.vcpus
        if best is None or per_vcpu > best[0]:
            best = (per_vcpu, name, hourly * share)
    assert best is not None
    return WorkerPrice(source=table.source, as_of=table.as_of, instance_type=best[1], pricing=pricing,
                       usd_per_hour=round(best[2], 6))
