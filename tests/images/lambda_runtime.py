"""A Lambda Runtime API (the part a function's runtime client calls) serving one event.

The function image's entrypoint runs awslambdaric, which asks ``$AWS_LAMBDA_RUNTIME_API`` for
the next event, calls the handler and posts its result (or error) back, then asks again. This
server answers the first ``next`` with the event, records the result, and holds later ``next``
calls until the test stops the container: the handler runs exactly as Lambda runs it.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"


class RuntimeApi:
    """``with RuntimeApi(event) as api:`` run the container with ``AWS_LAMBDA_RUNTIME_API=api.address``,
    then ``api.wait(timeout)`` gives ``("response" | "error", body)``."""

    def __init__(self, event: dict[str, Any], function_arn: str, deadline_ms: int = 900_000) -> None:
        self.event, self.function_arn, self.deadline_ms = event, function_arn, deadline_ms
        self.request_id = str(uuid.uuid4())
        self.result: tuple[str, Any] | None = None
        self._done = threading.Event()
        self._served = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, code: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404)
                if api._served:  # one event only: hold the runtime client until the container is stopped
                    api._done.wait()
                    threading.Event().wait(3600)
                api._served = True
                import time

                self._reply(200, json.dumps(api.event).encode(), {
                    "Lambda-Runtime-Aws-Request-Id": api.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + api.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                    "Content-Type": "application/json"})

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = self.path.rsplit("/", 1)[-1]
                if self.path.startswith(f"{PREFIX}/invocation/{api.request_id}/") and kind in ("response", "error"):
                    api.result = (kind, json.loads(body) if body else None)
                    self._reply(202)
                    api._done.set()
                elif self.path == f"{PREFIX}/init/error":
                    api.result = ("init/error", json.loads(body) if body else None)
                    self._reply(202)
                    api._done.set()
                else:
                    self._reply(404)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RuntimeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._done.set()
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> tuple[str, Any] | None:
        """The handler's result, or None if it gave none within ``timeout`` seconds."""
        self._done.wait(timeout)
        return self.result
