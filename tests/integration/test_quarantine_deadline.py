"""A quarantine send cut by the deadline never lands after the record was reported: exactly one outcome.

Through real HTTP: EventBridge is the fault endpoint (a detail rule makes one record poison), SQS is moto,
reached through a delaying proxy that holds each request longer than the invocation has left and then
forwards it only if the client is still connected (a peer that has not yet taken the message). A client
that gave up at the deadline has closed its connection by then, so the message never reaches the queue.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.events import sqs_event
from forwarder_testing.lambda_context import LambdaContext
from forwarder_testing.local_aws import drain
from forwarder_testing.raw_server import RawServer

pytestmark = pytest.mark.integration


class DelayingProxy(RawServer):
    """HTTP/1.1 on 127.0.0.1: holds each request `delay` seconds, then forwards it to `target` if its client
    is still there (and relays the answer), or drops it. `decided` counts requests forwarded or dropped."""

    def __init__(self, target: str, delay: float):
        self.target, self.delay = urlsplit(target), delay
        self.forwarded = self.dropped = 0
        self.decided = threading.Condition()
        super().__init__()

    def serve(self, sock: socket.socket) -> None:
        with sock, sock.makefile("rb") as reader:
            while line := reader.readline():
                method, path, _ = line.decode().split(" ", 2)
                headers = http.client.parse_headers(reader)
                body = reader.read(int(headers.get("Content-Length") or 0))
                time.sleep(self.delay)
                if not _still_connected(sock):
                    self._decide(forwarded=False)
                    return
                sock.sendall(self._forward(method, path, dict(headers.items()), body))
                self._decide(forwarded=True)

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        upstream = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=10)
        try:
            upstream.request(method, path, body, headers)
            answer = upstream.getresponse()
            data = answer.read()
            lines = [f"HTTP/1.1 {answer.status} {answer.reason}"]
            lines += [f"{k}: {v}" for k, v in answer.getheaders() if k.lower() not in ("transfer-encoding",
                                                                                       "content-length")]
            lines.append(f"Content-Length: {len(data)}")
            return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data
        finally:
            upstream.close()

    def _decide(self, forwarded: bool) -> None:
        with self.decided:
            self.forwarded += forwarded
            self.dropped += not forwarded
            self.decided.notify_all()

    def wait_for_decisions(self, count: int, timeout: float = 10.0) -> None:
        with self.decided:
            assert self.decided.wait_for(lambda: self.forwarded + self.dropped >= count, timeout)


def _still_connected(sock: socket.socket) -> bool:
    """Readable with nothing to read means the client closed (or reset) the connection."""
    if not select.select([sock], [], [], 0)[0]:
        return True
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except OSError:
        return False


@pytest.fixture
def eventbridge() -> Iterator[FaultEndpoint]:
    with FaultEndpoint(detail_rules=[{"contains": "poison", "code": "MalformedDetail"}]) as endpoint:
        yield endpoint


def run(cold_start, eventbridge, aws, clients, delay: float) -> tuple[dict, str, list[dict], DelayingProxy, float]:
    sqs = clients("sqs")
    queue_url = sqs.create_queue(QueueName="poison")["QueueUrl"]
    proxy = DelayingProxy(aws, delay)
    handler = cold_start(AWS_ENDPOINT_URL=eventbridge.url, AWS_ENDPOINT_URL_SQS=proxy.url,
                           POISON_QUEUE_URL=queue_url, DEADLINE_MARGIN_MS="1000")
    event = sqs_event(['{"ok": 1}', '{"poison": 1}'])
    started = time.monotonic()
    response = handler(event, LambdaContext(timeout_ms=1500))  # 0.5 s before the deadline
    elapsed = time.monotonic() - started
    proxy.wait_for_decisions(1)  # past the proxy's delay: whatever it would forward has been forwarded
    return response, event["Records"][1]["messageId"], drain(sqs, queue_url), proxy, elapsed


def test_a_quarantine_send_answered_after_the_deadline_leaves_one_outcome(cold_start, eventbridge, aws, clients):
    response, poison_id, quarantined, proxy, elapsed = run(cold_start, eventbridge, aws, clients, delay=1.5)
    assert elapsed < 1.4  # returned before Lambda's timeout, without waiting for the queue
    reported = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    in_queue = {json.loads(message["Body"])["record"]["messageId"] for message in quarantined}
    assert (poison_id in reported) != (poison_id in in_queue)  # exactly one of the two
    assert reported == {poison_id} and in_queue == set()  # the send was cut at the deadline: reported
    assert proxy.dropped == 1


def test_a_quarantine_send_answered_in_time_quarantines_the_record(cold_start, eventbridge, aws, clients):
    response, poison_id, quarantined, proxy, _ = run(cold_start, eventbridge, aws, clients, delay=0.05)
    assert response == {"batchItemFailures": []}
    assert [json.loads(message["Body"])["record"]["messageId"] for message in quarantined] == [poison_id]
    assert proxy.forwarded == 1
