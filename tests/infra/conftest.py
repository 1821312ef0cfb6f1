"""Synthesise the CDK app once per session (about 10-20 s with cdk-nag) and share the result."""

from __future__ import annotations

import pytest
from cdk_support import Synth, synthesise


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app with cdk.json's settings."""
    return synthesise(tmp_path_factory.mktemp("cdk.out"))
