"""Helpers for the SQS work-queue tests (importable by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import yaml

HERE = Path(__file__).parent
ODC_STATS = str(Path(sys.executable).parent / "odc-stats")

RECOVERY: dict[str, float] = {}
"""Measured fault-recovery times, printed at the end of the session."""


def run_config(path: Path, bucket: str, *, plugin: str = "pq", plugin_config: dict | None = None,
               lease: int = 4, margin: int = 2, poll: int = 1, **extra) -> Path:
    """A run config for workers: short leases, one thread, public-read outputs on ``bucket``."""
    cfg = {"plugin": plugin, "plugin_config": plugin_config or {}, "output_location": f"s3://{bucket}/out",
           "s3_acl": "public-read", "threads": 1, "job_queue_max_lease": lease, "renew_safety_margin": margin,
           "future_poll_interval": poll, **extra}
    path.write_text(yaml.safe_dump(cfg))
    return path


class Worker:
    """``odc-stats run --from-sqs`` in its own process; output goes to files (no pipe stalls)."""

    def __init__(self, env: dict, queue: str, config: Path, tmp: Path, *args: str) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.out = tmp / f"worker-{self.tag}.out"
        self.err = tmp / f"worker-{self.tag}.err"
        full_env = {**os.environ, **env, "PYTHONPATH": str(HERE)}
        self.t0 = time.monotonic()
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.proc = subprocess.Popen([ODC_STATS, "run", "--from-sqs", queue, "--config", str(config), *args],
                                         stdout=o, stderr=e, env=full_env)

    def wait(self, timeout: float = 120) -> int:
        return self.proc.wait(timeout)

    @property
    def stdout(self) -> str:
        return self.out.read_text()

    @property
    def stderr(self) -> str:
        return self.err.read_text()

    def lines(self, status: str) -> list[str]:
        """Outcome lines with ``status`` (done, skipped, failed, released)."""
        return [ln for ln in (self.stdout + self.stderr).splitlines() if f"  {status} " in ln]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def wait_until(cond, timeout: float, step: float = 0.2) -> float:
    """Seconds until ``cond()`` held; fails the test after ``timeout``."""
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)
    return time.monotonic() - t0
