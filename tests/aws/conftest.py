"""A deployment of the CDK app in a moto server of its own, with small real inputs on its S3.

Session-wide: the server process (``tests/aws/moto_server.py``, with the moto
adaptations), the synthesized template and the input scenes. Per test: a fresh stack from
that template, so task tables (and so what counts as DONE) are never shared.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.aws.moto_deploy import Deployment, deploy
from tests.aws.moto_server import MotoServer
from tests.aws.scenario import Inputs, scenario_template, upload_inputs
from tests.stac_support import fail_on_invalid_s3_stac


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """``python -m tests.aws.moto_server`` on a free port, configured to run state machines."""
    server = MotoServer.start(tmp_path_factory.mktemp("moto-server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """The app synthesized with :data:`tests.aws.scenario.SETTINGS` over cdk.json's (cdk-nag on, as for the infra tests)."""
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: the CDK app cannot be synthesized (install Node 20+)")
    return scenario_template()


@pytest.fixture(scope="session")
def inputs(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    """The input scenes on the server's S3 (see :func:`upload_inputs`)."""
    return upload_inputs(moto_server, tmp_path_factory.mktemp("inputs"))


@pytest.fixture
def deployment(moto_server: MotoServer, template: dict[str, Any], stac_audit) -> Iterator[Deployment]:
    """A fresh stack from the template (its own table, queue and buckets); the STAC documents
    the test left on the server's S3 must validate."""
    yield deploy(moto_server.session, moto_server.endpoint, f"statscore-{uuid.uuid4().hex[:8]}", template)
    fail_on_invalid_s3_stac(stac_audit, moto_server.session.client("s3", endpoint_url=moto_server.endpoint),
                            "aws moto server")
