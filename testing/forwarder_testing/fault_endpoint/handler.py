"""One keep-alive HTTP connection of the fault endpoint: its routes, and how every answer is written.

``POST /`` is the classic PutEvents (``classic.py``), ``POST /service/...`` the eventbridgev2 one
(``v2.py``), and ``/_fault/...`` the control routes (``control.py``). Every answer goes out through
``send_raw``, which adds the PutEvents latency and writes head and body in one piece (under the ``trickle``
fault, byte by byte).
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from . import classic, control, faults, v2
from .state import FaultState
from .validation import RequestError

if TYPE_CHECKING:
    from .server import EndpointServer

CONTENT_TYPE = "application/x-amz-json-1.1"
V2_PATH_PREFIX = "/service/"  # Smithy RPC v2: POST /service/{ServiceName}/operation/{OperationName}


class Handler(BaseHTTPRequestHandler):
    """One keep-alive connection; PutEvents on POST / and POST /service/..., control routes under /_fault/."""

    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    server: EndpointServer
    trickling = False  # set per request by the fault draw; the next answer is trickled

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle + delayed ACK adds ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.state.lock:
            self.state.connections += 1  # tells a reused keep-alive connection from a new one

    def log_message(self, fmt: str, *args: Any) -> None:
        pass  # a benchmark sends thousands of requests a second; logging them would be the bottleneck

    @property
    def state(self) -> FaultState:
        return self.server.state

    def do_GET(self) -> None:
        control.answer_get(self)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)  # read it all, even to refuse it, so the connection stays usable
        if self.path == "/":
            classic.put_events(self, body)
        elif self.path.startswith(V2_PATH_PREFIX):
            v2.put_events_v2(self, body)
        else:
            control.answer_post(self, body)

    def send_error_json(self, error: RequestError) -> None:
        """A whole-request error as awsJson1_1: ``__type`` (what botocore reads) and ``x-amzn-ErrorType``."""
        payload = {"__type": error.code, "message": error.message}
        self.send_json(error.status, payload, {"x-amzn-ErrorType": error.code})

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_raw(status, json.dumps(payload).encode(), headers=headers)

    def send_raw(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                 close: bool = False, content_type: str = CONTENT_TYPE) -> None:
        if self.trickling:
            faults.trickle(self, lambda: self.send_raw(status, body, headers, close, content_type))
            return
        latency = self.state.config.latency_ms
        if latency and not self.path.startswith("/_fault/"):
            time.sleep(latency / 1000)
        # Head and body in one write, as a service's front end sends a small answer: written apart (http.server
        # writes its head as it ends it), the body came in a segment of its own, and a client with many requests in
        # flight was woken twice for half its answers (bench/notes.md).
        real, self.wfile = self.wfile, io.BytesIO()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", f"fake-{threading.get_ident():x}-{time.monotonic_ns():x}")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)
        finally:
            answer, self.wfile = self.wfile.getvalue(), real
        self.wfile.write(answer)
