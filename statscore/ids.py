"""Deterministic ids of derived datasets, as odc-stats computes them."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid5

__all__ = ["ODC_NS", "odc_uuid"]

ODC_NS = UUID("6f34c6f4-13d6-43c0-8e4e-42b6c13203af")
"""The namespace odc-stats uses, so the same inputs give the same id in both tools."""


def odc_uuid(algorithm: str, version: str, sources: Sequence[UUID | str], deployment_id: str = "", **tags: object) -> UUID:
    """uuid5 over name, version, deployment, sorted ``k=v`` tags and sorted source ids."""
    parts = [str(algorithm), str(version), str(deployment_id)]
    parts += sorted(f"{k}={v}" for k, v in tags.items())
    parts += [str(u) for u in sorted(UUID(str(s)) for s in sources)]
    return uuid5(ODC_NS, "\n".join(p.lower() for p in parts))
