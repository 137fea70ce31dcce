"""``SqsPeer``: the SQS endpoint a simulated function's ChangeMessageVisibilityBatch calls reach.

The function sets the visibility of the records it reports (forwarder/stages/visibility.py) through a real
botocore client over HTTP (AWS_ENDPOINT_URL_SQS = ``peer.url``). The peer answers those calls as SQS does
(JSON protocol: ``X-Amz-Target: AmazonSQS.ChangeMessageVisibilityBatch``, every entry in ``Successful``)
and keeps the timeout asked for each receipt handle; ``SqsSource`` takes it when the batch completes, so
the message comes back that many seconds later on the source's virtual clock. Every other SQS call (the
quarantine's SendMessage) is relayed unchanged to ``upstream`` (moto server), when one is given.
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CHANGE_VISIBILITY = "AmazonSQS.ChangeMessageVisibilityBatch"


class SqsPeer:
    def __init__(self, upstream: str | None = None):
        self.upstream = urlsplit(upstream) if upstream else None
        self.calls = 0
        self._timeouts: dict[str, int] = {}  # receipt handle -> VisibilityTimeout asked for
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def take(self, receipt_handle: str) -> int | None:
        """The visibility timeout the function set for this receipt handle, if it set one (then forgotten)."""
        with self._lock:
            return self._timeouts.pop(receipt_handle, None)

    def change_visibility(self, body: dict[str, Any]) -> dict[str, Any]:
        entries = body.get("Entries") or []
        with self._lock:
            self.calls += 1
            for entry in entries:
                self._timeouts[entry["ReceiptHandle"]] = int(entry["VisibilityTimeout"])
        return {"Successful": [{"Id": entry["Id"]} for entry in entries], "Failed": []}

    def relay(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list, bytes]:
        if self.upstream is None:
            payload = {"__type": "com.amazonaws.sqs#UnsupportedOperation", "message": "not simulated"}
            return 400, [("Content-Type", "application/x-amz-json-1.0")], json.dumps(payload).encode()
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            connection.request(method, path, body, headers)
            answer = connection.getresponse()
            kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in ("transfer-encoding", "content-length",
                                                                                 "connection")]
            return answer.status, kept, answer.read()
        finally:
            connection.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SqsPeer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _handler_for(peer: SqsPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the function's connections expect

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("X-Amz-Target") == CHANGE_VISIBILITY:
                self._answer(200, [("Content-Type", "application/x-amz-json-1.0")],
                             json.dumps(peer.change_visibility(json.loads(body))).encode())
                return
            self._answer(*peer.relay("POST", self.path, dict(self.headers.items()), body))

        def _answer(self, status: int, headers: list, data: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass  # quiet: thousands of calls per soak

    return Handler
