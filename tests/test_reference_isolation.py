"""The test references (odc-stats 1.9.14, odc-algo, geomad) stay out of the venv's
site-packages: a plain interpreter of the venv cannot import them, and the venv's
``odc-stats`` command is ours. Inside pytest they come from the reference folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks._reference import REFERENCE

BIN = Path(sys.executable).parent


def _plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "STATSCORE_REFERENCE")}


def test_the_venv_alone_cannot_import_the_references():
    code = ("import importlib.util as u, sys; "
            "sys.exit(any(u.find_spec(m) for m in ('odc.stats', 'odc.algo', 'geomad')))")
    r = subprocess.run([sys.executable, "-c", code], env=_plain_env(), cwd="/", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_the_odc_stats_command_is_ours():
    r = subprocess.run([str(BIN / "odc-stats"), "--help"], env=_plain_env(), capture_output=True, text=True)
    assert r.returncode == 0 and "odc-stats compatible" in r.stdout


def test_pytest_imports_them_from_the_reference_folder():
    import geomad
    import odc.algo
    import odc.stats

    for mod in (odc.stats, odc.algo, geomad):
        assert Path(mod.__file__).is_relative_to(REFERENCE)
