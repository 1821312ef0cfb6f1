"""Datasets from an Open Data Cube index (datacube 1.9, ``postgres`` driver)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from datacube import Datacube
from datacube.model import Dataset, Product

from ..errors import ConfigError, SourceError, suggest

__all__ = ["open_datacube", "index_products", "index_datasets"]


def _describe(env: str | None) -> str:
    try:
        from datacube.cfg import ODCConfig

        e = ODCConfig.get_environment(env=env)
        url = str(e.db_url or "")
        if "@" in url and ":" in url.split("@", 1)[0].split("//", 1)[-1]:  # hide a password
            scheme, rest = url.split("//", 1)
            user, host = rest.split("@", 1)
            url = f"{scheme}//{user.split(':', 1)[0]}:***@{host}"
        return f"environment {e._name!r} ({url})"
    except Exception as ex:  # configuration itself is broken
        return f"environment {env or 'default'!r} (configuration error: {ex})"


def open_datacube(env: str | None = None) -> Datacube:
    """Connect and touch the database now, so an unreachable one fails with one clear line."""
    try:
        dc = Datacube(env=env, app="statscore")
        dc.index.products.get_all()
        return dc
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        raise SourceError(f"cannot use the datacube database, {_describe(env)}: {reason}") from None


def index_products(dc: Datacube, names: tuple[str, ...]) -> dict[str, Product]:
    known = {p.name: p for p in dc.index.products.get_all()}
    out = {}
    for n in names:
        if n not in known:
            raise ConfigError(f"product {n!r} is not in the datacube index{suggest(n, list(known))}; indexed: {', '.join(sorted(known)) or 'none'}")
        out[n] = known[n]
    return out


def index_datasets(dc: Datacube, product: str, query: dict[str, Any]) -> Iterator[Dataset]:
    """Stream a product's datasets matching ``query`` (time, geopolygon, search fields)."""
    try:
        yield from dc.find_datasets_lazy(product=product, **query)
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"query for product {product!r} is invalid: {e}") from None
