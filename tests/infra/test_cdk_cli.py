"""Must-show 1: `cdk synth` through the pinned CLI (package-lock.json), offline, from the repo."""

from __future__ import annotations

import json
import os
import subprocess
import time

from cdk_support import ROOT


def test_pinned_cli_synthesises_the_app(tmp_path) -> None:
    cli = ROOT / "node_modules" / ".bin" / "cdk"
    assert cli.exists(), "run `npm ci` (or `make synth`) to install the pinned aws-cdk CLI"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/aws-cdk"]["version"].startswith("2.1148.")
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", CDK_DISABLE_VERSION_CHECK="1")
    t0 = time.perf_counter()
    r = subprocess.run([str(cli), "synth", "--quiet", "--no-notices", "-o", str(tmp_path)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    print(f"\ncdk synth: {time.perf_counter() - t0:.1f} s")
    assert r.returncode == 0, r.stdout + r.stderr
    tmpl = json.loads((tmp_path / "StatsCore.template.json").read_text())
    assert any(v["Type"] == "AWS::StepFunctions::StateMachine" for v in tmpl["Resources"].values())
