"""Run the built images as containers: ``buildah run --isolation chroot --network host``.

Chroot isolation because this machine's podman cannot set rlimits; the host network so a
container reaches the test's moto server (and Runtime API) on 127.0.0.1. Each run gets a fresh
container from the image, removed afterwards. The image's ENTRYPOINT, CMD, USER and ENV apply
as in ECS/Lambda: ``buildah run`` keeps the image's user and environment, and the command run is
the image's entrypoint plus the command given (or the image's CMD).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

WORKER = "localhost/statscore-worker:dev"
FUNCTIONS = "localhost/statscore-functions:dev"
BUILD = "make images"


class ImageMissing(AssertionError):
    """An image the tests need is not built (make test builds them first)."""


@dataclass(frozen=True)
class ImageConfig:
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    env: dict[str, str]
    user: str


def image_config(image: str) -> ImageConfig:
    """The image's OCI config; :class:`ImageMissing` naming the build command if it is not there."""
    r = subprocess.run(["buildah", "inspect", "--type", "image", image], capture_output=True, text=True)
    if r.returncode != 0:
        raise ImageMissing(f"image {image} is not built: run `{BUILD}` (make test does it first)\n{r.stderr.strip()}")
    cfg = json.loads(r.stdout)["OCIv1"]["config"]
    return ImageConfig(tuple(cfg.get("Entrypoint") or ()), tuple(cfg.get("Cmd") or ()),
                       dict(e.split("=", 1) for e in cfg.get("Env") or ()), cfg.get("User", ""))


@contextmanager
def container(image: str) -> Iterator[str]:
    """A working container of ``image`` (never pulled), removed on exit."""
    image_config(image)
    ctr = subprocess.run(["buildah", "from", "--pull-never", image], capture_output=True, text=True, check=True).stdout.strip()
    try:
        yield ctr
    finally:
        subprocess.run(["buildah", "rm", ctr], capture_output=True)


def run_argv(ctr: str, argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    return ["buildah", "run", "--isolation", "chroot", "--network", "host",
            *(f"--env={k}={v}" for k, v in sorted(env.items())), ctr, "--", *argv]


def run(image: str, argv: Sequence[str], env: Mapping[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``argv`` in a fresh container of ``image`` with ``env`` over the image's; stdout and stderr kept."""
    with container(image) as ctr:
        return subprocess.run(run_argv(ctr, argv, env or {}), capture_output=True, text=True, timeout=timeout)


@contextmanager
def started(image: str, argv: Sequence[str], env: Mapping[str, str], log: Any) -> Iterator[subprocess.Popen]:
    """A container running ``argv`` in the background (output to ``log``), stopped (SIGTERM) on exit."""
    with container(image) as ctr:
        proc = subprocess.Popen(run_argv(ctr, argv, env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
