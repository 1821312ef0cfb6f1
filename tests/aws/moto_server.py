"""A moto server with the adaptations of ``moto_adaptations`` applied, in its own process.

``python -m tests.aws.moto_server --port N --workdir DIR`` (from the repository root)
serves every moto service on 127.0.0.1:N. The server calls itself back (Step Functions ->
Lambda, Batch) on ``MOTO_PORT``, set here. :meth:`MotoServer.start` runs it and switches
on execution of state machines with the Docker-less Lambda and Batch backends by POSTing
:data:`CONFIG` to ``/moto-api/config``, as any client of a moto server would.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False},
          "batch": {"use_docker": False}}
ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


class ServerError(Exception):
    """The server did not start; the message ends with its log."""


@dataclass
class MotoServer:
    """A running server process and how to reach it (boto3 with ``endpoint_url``)."""

    endpoint: str
    workdir: Path
    """Its log, and the logs and temporary folders of the functions and jobs it ran."""
    process: subprocess.Popen
    session: Any

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    @classmethod
    def start(cls, workdir: Path, timeout: float = 60) -> MotoServer:
        """Start the server on a free port, wait until it answers, configure it."""
        import boto3

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        workdir.mkdir(parents=True, exist_ok=True)
        with (workdir / "server.log").open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "tests.aws.moto_server", "--port", str(port),
                                     "--workdir", str(workdir)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        server = cls(f"http://127.0.0.1:{port}", workdir, proc,
                     boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION))
        try:
            server._wait(timeout)
            server.configure()
        except BaseException:
            server.stop()
            raise
        return server

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"moto server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise ServerError(f"moto server not answering after {timeout:.0f} s:\n{self.log_tail()}")

    def configure(self) -> None:
        """Execute state machines; Lambda and Batch without Docker (so the adaptations run them)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/config", data=json.dumps(CONFIG).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            if resp.status not in (200, 201):
                raise ServerError(f"{self.endpoint}/moto-api/config answered {resp.status}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def client(self, name: str) -> Any:
        return self.session.client(name, endpoint_url=self.endpoint)

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server's log and of the newest worker and function logs: what went wrong."""
        out = [f"--- {self.log}", *self.log.read_text(errors="replace").splitlines()[-lines:]]
        logs = sorted(self.workdir.glob("batch-*/output.log"), key=lambda p: p.stat().st_mtime)[-2:]
        logs += sorted(self.workdir.glob("lambda-*.log"), key=lambda p: p.stat().st_mtime)[-2:]
        for p in logs:
            out += [f"--- {p}", *p.read_text(errors="replace").splitlines()[-20:]]
        return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workdir", type=Path, required=True, help="logs and temporary folders of functions and jobs")
    p.add_argument("--code-root", type=Path, default=ROOT, help="what the images hold (default: the repository)")
    p.add_argument("--batch-entrypoint", type=Path, default=ROOT / "batch_image" / "entrypoint.sh",
                   help="the worker image's ENTRYPOINT")
    args = p.parse_args(argv)
    os.environ["MOTO_PORT"] = str(args.port)  # where moto's Step Functions calls Lambda and Batch

    from tests.aws.moto_adaptations import Runtime, apply

    apply(Runtime(port=args.port, code_root=args.code_root.resolve(), batch_entrypoint=args.batch_entrypoint.resolve(),
                  workdir=args.workdir.resolve()))
    from moto.server import main as serve

    print(f"moto server on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    serve(["-H", "127.0.0.1", "-p", str(args.port)])


if __name__ == "__main__":
    main()
