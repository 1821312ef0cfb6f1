"""Stage timings: seconds add up per stage; the report line appears only when asked for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from statscore import stages

_CODE = (
    "import time; from statscore.stages import stage\n"
    "with stage('read'): time.sleep(0.05)\n"
    "with stage('read'): time.sleep(0.05)\n"
    "with stage('kernel'): time.sleep(0.02)\n"
)


def test_seconds_add_up_per_stage():
    before = stages.totals().get("test-stage", 0.0)
    with stages.stage("test-stage"):
        time.sleep(0.02)
    with stages.stage("test-stage"):
        time.sleep(0.02)
    assert stages.totals()["test-stage"] - before >= 0.04
    assert stages.totals()["first-stage-at"] <= time.time()


def test_profile_line_at_exit_only_with_the_variable():
    env = {k: v for k, v in os.environ.items() if k != stages.PROFILE_ENV}
    quiet = subprocess.run([sys.executable, "-c", _CODE], env=env, capture_output=True, text=True, check=True)
    assert "statscore-profile" not in quiet.stderr
    t0 = time.time()
    loud = subprocess.run([sys.executable, "-c", _CODE], env={**env, stages.PROFILE_ENV: "1"},
                          capture_output=True, text=True, check=True)
    line = next(ln for ln in loud.stderr.splitlines() if ln.startswith("statscore-profile "))
    got = json.loads(line.split(" ", 1)[1])
    assert 0.1 <= got["read"] < 5 and 0.02 <= got["kernel"] < 5
    assert t0 <= got["first-stage-at"] <= time.time()
