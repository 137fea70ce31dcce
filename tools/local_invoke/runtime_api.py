"""A minimal Lambda Runtime API (version 2018-06-01) on 127.0.0.1, serving one invocation.

``/runtime/invocation/next`` hands out the event once; ``/runtime/invocation/{id}/response``,
``/runtime/invocation/{id}/error`` and ``/runtime/init/error`` are collected as ``Report``s.
"""

from __future__ import annotations

import http.client
import json
import queue
import sys
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_PREFIX = "/2018-06-01/runtime"

# The runtime sends the X-Ray cause of an invocation error as a header of up to 1 MiB; http.server's
# header parser stops at 64 KiB lines and would answer 431, which makes the runtime crash.
http.client._MAXLINE = max(http.client._MAXLINE, 2 * 1024 * 1024)


@dataclass(frozen=True)
class Report:
    """What the runtime told us: kind is 'response', 'error' or 'init_error'."""

    kind: str
    body: bytes
    error_type: str | None = None


@dataclass(frozen=True)
class Invocation:
    event: bytes
    request_id: str
    function_arn: str
    trace_id: str
    timeout_s: float


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    api: RuntimeApi  # the handler's way back to the invocation it serves

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The runtime is killed while its next /next is held open: a reset connection is expected.
        if not isinstance(sys.exception(), ConnectionError):
            super().handle_error(request, client_address)


class RuntimeApi:
    """Serves one invocation over Lambda's Runtime API and collects what the runtime reports.

    The first ``/next`` gets the event; later ones are held open, as Lambda holds them until the next
    event arrives (here: never, the child is stopped).
    """

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.reports: queue.Queue[Report] = queue.Queue()
        self.delivered = threading.Event()
        self.deadline_ms = 0
        self.stopping = threading.Event()
        self._next_lock = threading.Lock()
        self._served = False
        self._server = _QuietServer(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RuntimeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def take_event(self) -> bool:
        """True once: for the first /next, which starts the invocation's clock."""
        with self._next_lock:
            if self._served:
                return False
            self._served = True
            self.deadline_ms = int((time.time() + self.invocation.timeout_s) * 1000)
            return True

    def report_for(self, path: str, body: bytes, error_type: str | None) -> Report | None:
        """The report a POST to this path makes, or None for a path the Runtime API does not have."""
        request_id = self.invocation.request_id
        if path == f"{API_PREFIX}/init/error":
            return Report("init_error", body, error_type)
        if path == f"{API_PREFIX}/invocation/{request_id}/response":
            return Report("response", body)
        if path == f"{API_PREFIX}/invocation/{request_id}/error":
            return Report("error", body, error_type)
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and Expect: 100-continue, as the runtime's curl expects
    server: _QuietServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        return

    def _body(self) -> bytes:
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # the trailer, up to its blank line
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, status: HTTPStatus, payload: dict[str, Any] | bytes, headers: dict[str, str] | None = None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Type" not in (headers or {}):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        api = self.server.api
        if self.path != f"{API_PREFIX}/invocation/next":
            self._send(HTTPStatus.NOT_FOUND, {"errorType": "NotFound", "errorMessage": self.path})
            return
        if not api.take_event():
            # Lambda would freeze the runtime here until the next event; we stop it instead.
            api.stopping.wait()
            self.close_connection = True
            return
        inv = api.invocation
        self._send(HTTPStatus.OK, inv.event, {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(api.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
            "Lambda-Runtime-Trace-Id": inv.trace_id,
        })
        api.delivered.set()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self._body()
        report = self.server.api.report_for(self.path, body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
        if report is None:
            self._send(HTTPStatus.NOT_FOUND, {"errorType": "NotFound", "errorMessage": self.path})
            return
        self._send(HTTPStatus.ACCEPTED, {"status": "OK"})
        self.server.api.reports.put(report)
