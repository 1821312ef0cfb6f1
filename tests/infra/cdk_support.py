"""Synthesis helpers for the infra tests (the session fixture is in conftest.py)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("CDK_DISABLE_VERSION_CHECK", "1")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def cdk_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context, with some ``statscore`` settings replaced."""
    ctx = json.loads((ROOT / "cdk.json").read_text())["context"]
    ctx["statscore"] = dict(ctx["statscore"], **overrides)
    return ctx


@dataclass
class Synth:
    template: dict[str, Any]
    assertions: Any
    outdir: Path
    stack: Any

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == type_}

    def one(self, type_: str) -> dict[str, Any]:
        found = self.resources(type_)
        assert len(found) == 1, f"{type_}: {len(found)} resources"
        return next(iter(found.values()))["Properties"]


def synthesise(outdir: Path, **overrides: Any) -> Synth:
    """Synthesise with cdk-nag on: a finding that is not acknowledged fails the synth itself."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.app import build_app

    app, stack = build_app(cdk.App(context=cdk_context(**overrides), outdir=str(outdir)))
    app.synth()
    tmpl = Template.from_stack(stack)
    return Synth(template=tmpl.to_json(), assertions=tmpl, outdir=outdir, stack=stack)


