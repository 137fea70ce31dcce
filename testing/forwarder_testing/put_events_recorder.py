"""A recording pass-through for EventBridge on 127.0.0.1: every request goes on to an emulator unchanged, and
the PutEvents entries it carried are kept, with the fields an emulator drops (moto keeps no TraceHeader).

    with PutEventsRecorder(moto_url) as recorder:      # AWS_ENDPOINT_URL_EVENTBRIDGE=recorder.url
        ...
        recorder.entries                               # each PutEvents entry sent, in order

`make demo` shows with it the trace header each event carried.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PUT_EVENTS_TARGET = "AWSEvents.PutEvents"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


class PutEventsRecorder:
    def __init__(self, upstream: str) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the forwarder's connections expect

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("X-Amz-Target") == PUT_EVENTS_TARGET:
                    recorder._record(body)
                status, headers, answer = recorder._forward(self.command, self.path, self.headers, body)
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass  # quiet: the demo prints what matters

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _record(self, body: bytes) -> None:
        try:
            entries = json.loads(body).get("Entries", [])
        except (ValueError, AttributeError):
            return
        with self._lock:
            self.entries.extend(entry for entry in entries if isinstance(entry, dict))

    def _forward(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, list, bytes]:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            sent = {name: value for name, value in headers.items() if name.lower() not in HOP_BY_HOP}
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> PutEventsRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
