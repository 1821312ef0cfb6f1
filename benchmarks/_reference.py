"""Where the test references live: odc-stats 1.9.14, odc-algo 1.2.2 and geomad 1.0.0.

They are not installed into the venv's site-packages (a user's venv must not have them,
and odc-stats' console script would replace ours): ``make test-env`` puts them, without
their dependencies, into ``<venv>/reference`` (see the Makefile). Tests and benchmarks put
that folder on ``sys.path`` (:func:`use_reference`) and give it to reference processes on
``PYTHONPATH`` (:func:`reference_env`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REFERENCE = Path(os.environ.get("STATSCORE_REFERENCE", Path(sys.prefix) / "reference"))
"""The folder holding ``odc/stats``, ``odc/algo`` and ``geomad`` (override: STATSCORE_REFERENCE)."""


class ReferenceMissing(RuntimeError):
    """The reference folder is absent: the tests and benchmarks cannot run without it."""


def use_reference() -> Path:
    """Append the reference folder to ``sys.path`` (after site-packages, so it adds the three
    packages and shadows nothing); raises ReferenceMissing naming the fix if it is absent."""
    if not (REFERENCE / "odc" / "stats").is_dir() or not (REFERENCE / "geomad").is_dir():
        raise ReferenceMissing(f"odc-stats 1.9.14 reference not found in {REFERENCE}: run `make test-env` "
                               "(make test and make bench do it)")
    if str(REFERENCE) not in sys.path:
        sys.path.append(str(REFERENCE))
    return REFERENCE


def reference_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """A process environment in which ``python -m odc.stats`` runs odc-stats 1.9.14."""
    env = dict(os.environ if env is None else env)
    use_reference()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(REFERENCE)) if p)
    return env
