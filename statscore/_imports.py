"""Start-up cost we refuse to pay: a worker runs many short processes.

datacube validates documents with jsonschema's format checker, and jsonschema imports
``rfc3987_syntax`` (a datacube requirement) at import time; that module compiles 38 lark
grammars when imported: ~3 s of every ``odc-stats run`` on these machines, for IRI format
checks that datacube's schemas never ask for. We put a stand-in in ``sys.modules`` that
imports the real module the first time a check actually runs, so behaviour is unchanged.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

_NAME = "rfc3987_syntax"


def defer_rfc3987_syntax() -> None:
    """Install the lazy stand-in unless the real module is loaded already (or absent)."""
    if _NAME in sys.modules or importlib.util.find_spec(_NAME) is None:
        return
    stub = types.ModuleType(_NAME)
    stub.__doc__ = "statscore's lazy stand-in: the real module is imported on first use."

    def _real() -> types.ModuleType:
        if sys.modules.get(_NAME) is stub:
            del sys.modules[_NAME]
        return importlib.import_module(_NAME)

    def is_valid_syntax(*args: Any, **kwargs: Any) -> Any:
        return _real().is_valid_syntax(*args, **kwargs)

    def __getattr__(name: str) -> Any:  # anything else jsonschema (or a user) asks for
        if name.startswith("__"):  # the import system probes __path__ & co: not a use
            raise AttributeError(name)
        return getattr(_real(), name)

    stub.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    stub.__getattr__ = __getattr__  # type: ignore[attr-defined]
    sys.modules[_NAME] = stub
