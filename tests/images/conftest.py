"""Fixtures of the image tests: the images (built by ``make images``), and the test deployment of
tests/aws (same settings, template and moto server code) for the containers to work against."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.aws.conftest import inputs, moto_server, template  # noqa: F401 - the same fixtures, reused
from tests.aws.moto_deploy import Deployment, deploy
from tests.aws.moto_server import MotoServer
from tests.images.containers import FUNCTIONS, WORKER, ImageConfig, image_config


@pytest.fixture(scope="session")
def worker_image() -> ImageConfig:
    """The worker image's config; fails (never skips) when it is not built."""
    return image_config(WORKER)


@pytest.fixture(scope="session")
def functions_image() -> ImageConfig:
    return image_config(FUNCTIONS)


@pytest.fixture(scope="module")
def module_deployment(moto_server: MotoServer, template: dict[str, Any]) -> Deployment:  # noqa: F811
    """One stack for a module's tests: the function container enumerates into it, the worker drains it."""
    return deploy(moto_server.session, moto_server.endpoint, f"images-{uuid.uuid4().hex[:8]}", template)
