"""botocore clients from forwarder.net.clients.create_client inside bounded_by: their requests go out on
forwarder.net.connections and end by the deadline, and botocore sees the same answers and raises the same
errors as through its own HTTP session. Over real HTTP on 127.0.0.1 (raw scripted answers, the fault
endpoint, moto)."""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forwarder.net.clients import bound_by_deadline, bounded_by, create_client
from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.raw_server import RawServer, read_request
from tests.integration.test_connections import http_answer, raw_serving

pytestmark = pytest.mark.integration

ENTRIES = [{"Source": "shop", "DetailType": "OrderPlaced", "Detail": '{"id": 1}'}]
BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
JSON = b"Content-Type: application/x-amz-json-1.1\r\n"


class Scripted(RawServer):
    """Answers every request with `answer` (raw bytes), or resets the connection when `answer` is None."""

    def __init__(self, answer: bytes | None):
        self.answer, self.requests = answer, 0
        super().__init__()

    def serve(self, sock: socket.socket) -> None:
        with sock, sock.makefile("rb") as reader:
            while read_request(reader):
                self.requests += 1
                if self.answer is None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                sock.sendall(self.answer)


@contextmanager
def scripted(answer: bytes | None) -> Iterator[Scripted]:
    server = Scripted(answer)
    try:
        yield server
    finally:
        server.close()


def events_clients(url: str, attempts: int = 1) -> tuple[Any, Any]:
    """botocore's own client, and the same client bounded by the deadline (retries as given)."""
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts}, read_timeout=2, connect_timeout=2)
    session = botocore.session.get_session()
    plain = session.create_client("events", endpoint_url=url, config=config)
    bounded = session.create_client("events", endpoint_url=url, config=config)
    bound_by_deadline(bounded, session)
    return plain, bounded


def outcome(call: Any) -> tuple[str, Any]:
    try:
        return "returned", call()
    except ClientError as error:
        return "ClientError", (error.response, error.operation_name)
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return type(error).__name__, None


ANSWERS = {
    "ok": http_answer(body=b'{"FailedEntryCount":0,"Entries":[{"EventId":"1"}]}', extra=JSON),
    "repeated header": http_answer(body=b'{"Entries":[]}', extra=JSON + b"X-Thing: a\r\nX-Thing: b\r\n"),
    "throttled": http_answer("400 Bad Request", b'{"__type":"ThrottlingException","message":"Rate exceeded"}',
                             JSON + b"x-amzn-ErrorType: ThrottlingException\r\n"),
    "500 empty": http_answer("500 Internal Server Error", b""),
    "413 close": http_answer("413 Payload Too Large", b"", b"Connection: close\r\n"),
    "200 not json": http_answer(body=b"ok", extra=JSON),
    "200 array": http_answer(body=b"[1, 2]", extra=JSON),
    "chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + JSON
                + b"\r\n5\r\n{\"Ent\r\n9\r\nries\":[]}\r\n0\r\n\r\n"),
    "closed without an answer": b"",
    "reset": None,
}


@pytest.mark.parametrize("name", ANSWERS)
def test_botocore_parses_and_raises_alike_through_either_transport(name):
    with scripted(ANSWERS[name]) as server:
        plain, bounded = events_clients(server.url)
        theirs = outcome(lambda: plain.put_events(Entries=ENTRIES))
        with bounded_by(time.monotonic() + 5):
            ours = outcome(lambda: bounded.put_events(Entries=ENTRIES))
    assert ours == theirs


STATUSES = st.integers(200, 599).filter(lambda status: status not in (204, 304))  # those have no body
HEADERS = st.dictionaries(
    st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).map(lambda name: f"x-h-{name}"),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20),
    max_size=4,
)
BODIES = st.one_of(
    st.binary(max_size=64),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                 max_leaves=8).map(lambda value: json.dumps(value).encode()),
    st.sampled_from([b'{"__type":"ThrottlingException","message":"m"}', b'{"Entries":[{"EventId":"1"}]}',
                     b'{"__type":"com.amazon#ValidationException","Message":"m"}']),
)


@pytest.fixture(scope="module")
def any_answer() -> Iterator[Scripted]:
    with scripted(ANSWERS["ok"]) as server:
        yield server


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=STATUSES, headers=HEADERS, body=BODIES)
def test_any_answer_is_parsed_or_raised_alike(any_answer, status, headers, body):
    extra = JSON + "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()
    any_answer.answer = http_answer(f"{status} Whatever", body, extra)
    plain, bounded = events_clients(any_answer.url)
    theirs = outcome(lambda: plain.put_events(Entries=ENTRIES))
    with bounded_by(time.monotonic() + 5):
        ours = outcome(lambda: bounded.put_events(Entries=ENTRIES))
    assert ours == theirs


def test_outside_bounded_by_botocore_sends_as_always():
    # No deadline on the thread: botocore's own session; its urllib3 pool is what holds the connection.
    with scripted(ANSWERS["ok"]) as server:
        _, bounded = events_clients(server.url)
        assert bounded.put_events(Entries=ENTRIES)["Entries"] == [{"EventId": "1"}]
        assert bounded._endpoint.http_session._manager.pools  # botocore has no public view of its pools


def test_retries_are_botocores_when_the_deadline_is_far():
    with scripted(ANSWERS["500 empty"]) as server:
        plain, bounded = events_clients(server.url, attempts=4)
        theirs = outcome(lambda: plain.put_events(Entries=ENTRIES))
        sent = server.requests
        with bounded_by(time.monotonic() + 30):
            ours = outcome(lambda: bounded.put_events(Entries=ENTRIES))
    assert sent == 4 and server.requests - sent == 4
    theirs[1][0]["ResponseMetadata"].pop("RetryAttempts")
    assert ours[1][0]["ResponseMetadata"].pop("RetryAttempts") == 3
    assert ours == theirs


def test_no_retry_sleeps_past_the_deadline():
    # A throttled answer asking for 3 s: standard mode would sleep that long before each retry.
    answer = http_answer("400 Bad Request", b'{"__type":"ThrottlingException","message":"Rate exceeded"}',
                         JSON + b"x-amz-retry-after: 3000\r\n")
    with scripted(answer) as server:
        _, bounded = events_clients(server.url, attempts=4)
        started = time.monotonic()
        with bounded_by(started + 0.5), pytest.raises(ClientError) as raised:
            bounded.put_events(Entries=ENTRIES)
        assert time.monotonic() - started < 0.5
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert server.requests == 1


def test_a_request_whose_deadline_passed_is_not_sent():
    with scripted(ANSWERS["ok"]) as server:
        _, bounded = events_clients(server.url, attempts=4)
        with bounded_by(time.monotonic()), pytest.raises(ConnectTimeoutError):
            bounded.put_events(Entries=ENTRIES)
    assert server.requests == 0


# -- every client the function makes, against a peer that trickles its answer ------------------------


@pytest.fixture
def trickling(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultEndpoint]:
    with FaultEndpoint(request_faults={"trickle": 1.0}, trickle_ms=50) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
        yield endpoint


def ends_at_the_deadline(call: Any, seconds: float = 0.5) -> None:
    started = time.monotonic()
    with bounded_by(started + seconds), pytest.raises(ReadTimeoutError):
        call()
    assert time.monotonic() - started < seconds + 0.5


def test_custom_bus_puts_end_at_the_deadline(trickling):
    client = create_client("eventbridgev2", 4)
    ends_at_the_deadline(lambda: client.put_events(EventBusArn=BUS, Entries=ENTRIES))
    assert trickling.stats()["faults"] == {"trickle": 1}  # sent once: no retry after the deadline


def test_global_endpoint_puts_end_at_the_deadline(trickling):
    client = create_client("events", 4, validate=False)
    ends_at_the_deadline(lambda: client.put_events(Entries=ENTRIES, EndpointId="abcde.veo"))
    assert trickling.recent_signing()[0]["scheme"] == "AWS4-ECDSA-P256-SHA256"  # SigV4a, signed by botocore


@pytest.mark.parametrize("service", ["sqs", "s3"])
def test_quarantine_and_claim_check_requests_end_at_the_deadline(monkeypatch, service):
    with raw_serving(http_answer(body=b"{}"), trickle=0.05) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url.rstrip("/"))
        client = create_client(service, 4)
        if service == "sqs":
            ends_at_the_deadline(lambda: client.send_message(QueueUrl=f"{server.url}q", MessageBody="x"))
        else:
            ends_at_the_deadline(lambda: client.put_object(Bucket="b", Key="k", Body=b"x" * 2_000_000))
        assert server.wait_until_closed()


# -- and against real services: what botocore sends through our connections arrives intact ----------


def test_an_object_stored_under_a_deadline_arrives_whole(aws, clients):
    clients("s3").create_bucket(Bucket="claims")
    client = create_client("s3", 4, endpoint_url=aws)
    payload = b"\xe4\xb8\xad" * 700_000  # over 1 MB: botocore adds Expect: 100-continue, which is dropped
    with bounded_by(time.monotonic() + 10):
        client.put_object(Bucket="claims", Key="k", Body=payload, ChecksumAlgorithm="SHA256")
    stored = clients("s3").get_object(Bucket="claims", Key="k")["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(payload).digest()


def test_a_message_sent_under_a_deadline_arrives(aws, clients):
    url = clients("sqs").create_queue(QueueName="poison")["QueueUrl"]
    client = create_client("sqs", 4, endpoint_url=aws)
    with bounded_by(time.monotonic() + 10):
        client.send_message(QueueUrl=url, MessageBody="caf\u00e9")
    (message,) = clients("sqs").receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == "caf\u00e9"


def test_custom_bus_puts_arrive(monkeypatch):
    with FaultEndpoint() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
        client = create_client("eventbridgev2", 4)
        with bounded_by(time.monotonic() + 10):
            response = client.put_events(EventBusArn=BUS, Entries=ENTRIES)
        assert response["Entries"][0]["SuccessCode"] == "PUBLISHED"
        assert endpoint.accepted_v2()[0]["Detail"] == ENTRIES[0]["Detail"]
