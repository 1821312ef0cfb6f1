"""Docker build contexts of the images: the repository root, narrowed to what the images install."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import IgnoreMode

ROOT = Path(__file__).resolve().parents[1]
"""Repository root: both Dockerfiles ``COPY`` the project and ``pip install`` it."""

CONTEXT_EXCLUDE = ["*", "!pyproject.toml", "!statscore", "!functions", "!batch_image",
                   "**/__pycache__", "**/*.pyc", "**/*.nbi", "**/*.nbc", "**/README.md"]
"""An allow-list (dockerignore syntax): the asset hash and the staged copy in cdk.out cover only
the package and the two image folders, never .venv, node_modules, cdk.out or test data, nor the
READMEs (an edit of the docs must not rebuild and redeploy the images)."""

IGNORE_MODE = IgnoreMode.DOCKER
