"""Where datasets come from: a datacube index, or STAC/eo3 documents with no database.

``--input-products`` names products (``a-b`` union, ``a+b`` fusion) or locations of
documents: a path, glob, ``file://`` or ``s3://`` URL. Each source yields
``datacube.model.Dataset`` objects, the currency every ODC tool (and the cache) shares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["InputProducts", "parse_input_products", "is_location"]

_LOCATION_START = r"(?:s3://|file://|https?://|/|\./|\.\./|~/)"
_NAME = re.compile(r"^[A-Za-z0-9_.]+$")


def is_location(entry: str) -> bool:
    """True when an entry is a path, glob or URL of documents rather than a product name."""
    return bool(re.match(_LOCATION_START, entry)) or any(c in entry for c in "/*?[")


@dataclass(frozen=True)
class InputProducts:
    """Parsed ``--input-products``: the entries and whether they are fused (``+``)."""

    entries: tuple[str, ...]
    fuse: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e for e in self.entries if not is_location(e))

    @property
    def locations(self) -> tuple[str, ...]:
        return tuple(e for e in self.entries if is_location(e))

    def __str__(self) -> str:
        return ("+" if self.fuse else "-").join(self.entries)


def parse_input_products(text: str) -> InputProducts:
    """Split ``a-b`` (union) or ``a+b`` (fusion); locations may be mixed in.

    A location runs until a ``-``/``+`` that starts another location (``s3://``, ``/``,
    ``./``...), so list product names before locations; a name runs to the next separator. Mixing ``-`` and ``+`` is refused:
    it has no single meaning.
    """
    s = (text or "").strip()
    if not s:
        raise ConfigError("--input-products is required: product names (a-b union, a+b fusion) or document locations")
    entries: list[str] = []
    seps: set[str] = set()
    i = 0
    boundary = re.compile(rf"[-+](?={_LOCATION_START})")
    while i < len(s):
        if re.match(_LOCATION_START, s[i:]):
            m = boundary.search(s, i + 1)
            end = m.start() if m else len(s)
        else:
            m = re.compile(r"[-+]").search(s, i)
            end = m.start() if m else len(s)
        entry = s[i:end].strip()
        if entry:
            entries.append(entry)
        if end < len(s):
            seps.add(s[end])
        i = end + 1
    if len(seps) > 1:
        raise ConfigError(f"--input-products {text!r}: use either '-' (union) or '+' (fusion), not both")
    for e in entries:
        if not is_location(e) and not _NAME.match(e):
            raise ConfigError(f"--input-products {text!r}: {e!r} is neither a product name nor a path/URL")
    if len(set(entries)) != len(entries):
        raise ConfigError(f"--input-products {text!r}: an entry is repeated")
    return InputProducts(tuple(entries), fuse="+" in seps)
