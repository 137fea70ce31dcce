"""A peer that answers with a body without end: what is read of one answer stays within http1.MAX_ANSWER_BYTES.

A raw peer on 127.0.0.1 answers every request with a body framed three ways (a Content-Length of
terabytes, chunks that never end, bytes until a close that never comes) and counts what its socket
took. Without a bound, the client reads until the deadline and holds all of it in memory; with it,
the request fails as soon as the bound is passed, like a lost connection, and the connection is
closed. The bytes the peer got out are the measure: the bound, plus what the two sockets' buffers
hold, and far below what the peer offers.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

import botocore.session
import pytest
from botocore.exceptions import ResponseStreamingError

from forwarder.net import http1
from forwarder.net.clients import bounded_by, create_client
from forwarder.net.connections import ConnectionPool
from forwarder.net.wire import WirePutEvents
from forwarder_testing.events import reported, sqs_event
from forwarder_testing.lambda_context import LambdaContext
from forwarder_testing.raw_server import RawServer, read_request
from tests.integration.test_handler import log_lines

pytestmark = pytest.mark.integration

OFFERED = 64 << 20  # what the peer offers at most per answer (then it holds the connection open, silent)
# The bound, plus the socket buffers of both ends on the loopback (a few MiB each at most), plus the
# peer's last step: what may leave the peer before the client stops reading.
MOST_SENT = http1.MAX_ANSWER_BYTES + (16 << 20)
STEP = 64 << 10
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
HEADS = {
    "content-length": OK + b"Content-Length: 99999999999\r\n\r\n",
    "chunked": OK + b"Transfer-Encoding: chunked\r\n\r\n",
    "close": OK + b"Connection: close\r\n\r\n",
}


class Endless(RawServer):
    """Reads each request, then answers with `head` and a body it never ends; counts the bytes sent."""

    def __init__(self, framing: str):
        self.framing, self.sent, self.requests = framing, 0, 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        super().__init__()

    def serve(self, sock: socket.socket) -> None:
        with sock, sock.makefile("rb") as reader:
            try:
                while read_request(reader):
                    self.requests += 1
                    self._answer(sock)
            except OSError:
                return  # the client hung up: what it read is counted

    def _answer(self, sock: socket.socket) -> None:
        sock.sendall(HEADS[self.framing])
        step = b"%x\r\n%s\r\n" % (STEP, b"x" * STEP) if self.framing == "chunked" else b"x" * STEP
        for _ in range(OFFERED // STEP):
            sock.sendall(step)
            with self.lock:
                self.sent += len(step)
        self.stop.wait(30)  # offered all it will: silent until the test ends (never closing)

    def close(self) -> None:
        self.stop.set()
        super().close()


@contextmanager
def endless(framing: str) -> Iterator[Endless]:
    peer = Endless(framing)
    try:
        yield peer
    finally:
        peer.close()


FRAMINGS = list(HEADS)


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The most memory Python's allocations held at once inside the block (all threads), in bytes."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


@pytest.mark.parametrize("framing", FRAMINGS)
def test_the_wire_path_refuses_an_endless_answer_past_the_bound(framing):
    with endless(framing) as peer:
        pool = ConnectionPool(f"{peer.url}/", 2, 30)
        with peak_memory() as peak, pytest.raises(ResponseStreamingError):
            pool.post(b"{}", {}, deadline=time.monotonic() + 10)
        assert peer.sent < MOST_SENT
    assert peak[0] < 4 * http1.MAX_ANSWER_BYTES  # the body read so far, and its copy when joined


@pytest.mark.parametrize("framing", FRAMINGS)
def test_a_botocore_clients_request_refuses_an_endless_answer_past_the_bound(framing):
    # The quarantine's, the claim check's and the visibility backoff's clients send on connections.py, as here.
    with endless(framing) as peer:
        client = create_client("sqs", 2, endpoint_url=peer.url, retries=0)
        with bounded_by(time.monotonic() + 10), pytest.raises(ResponseStreamingError):
            client.send_message(QueueUrl=f"{peer.url}/123456789012/q", MessageBody="{}")
        assert peer.sent < MOST_SENT


@pytest.mark.parametrize("framing", FRAMINGS)
def test_an_endless_answer_fails_its_request_like_a_lost_connection(cold_start, caplog, framing):
    with endless(framing) as peer:
        forwarder = cold_start(AWS_ENDPOINT_URL=peer.url, MAX_ATTEMPTS="2", MAX_CONCURRENCY="1")
        event = sqs_event([json.dumps({"n": n}) for n in range(10)])
        response = forwarder(event, LambdaContext(timeout_ms=10_000))
        assert reported(response) == [record["messageId"] for record in event["Records"]]
        summary = next(line for line in log_lines(caplog) if line.get("message") == "batch done")
        # Retried like any transport failure, then reported with its code, not cut by the deadline.
        assert (summary["failures_by_code"], summary["requests"], peer.requests) == ({"RequestFailed": 10}, 2, 2)
        assert peer.sent < 2 * MOST_SENT


@pytest.mark.parametrize("framing", FRAMINGS)
def test_behind_a_proxy_the_wire_path_refuses_an_endless_answer_past_the_bound(monkeypatch, framing):
    # The peer stands in for the proxy (test_wire.py's proxy test says how): botocore's session sends, and the
    # answer is read within the bound all the same.
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "REQUEST_METHOD"):  # any of these would disable HTTP_PROXY
        monkeypatch.delenv(name, raising=False)
    with endless(framing) as peer:
        monkeypatch.setenv("HTTP_PROXY", peer.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://events.invalid")
        session = botocore.session.get_session()
        send = WirePutEvents(session, create_client("events", 2, session=session, retries=0))
        with pytest.raises(ResponseStreamingError):
            send([{"Source": "s", "DetailType": "t", "Detail": "{}"}])
        assert peer.requests == 1 and peer.sent < MOST_SENT


@pytest.mark.parametrize("framing", FRAMINGS)
def test_put_events_without_a_timeout_refuses_an_endless_answer_past_the_bound(framing):
    # No deadline (the library without `timeout`, and the command): no limit in time, but the bound in size holds.
    from forwarder.library.bulk import put_events

    with endless(framing) as peer:
        client = create_client("events", 2, endpoint_url=peer.url, retries=0)
        (result,) = put_events([{"Source": "s", "DetailType": "t", "Detail": "{}"}], client=client, max_attempts=1)
        assert result["ErrorCode"] == "RequestFailed" and "ResponseStreamingError" in result["ErrorMessage"]
        assert peer.requests == 1 and peer.sent < MOST_SENT
