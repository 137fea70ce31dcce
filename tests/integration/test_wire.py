"""forwarder.net.wire beside botocore's own client, over HTTP to the same fault endpoint.

Whatever the handler's request path sends or raises must be what botocore's client would: a body
that says the same, a signature AWS accepts, the same ClientError for the same answer, and
botocore's exceptions when the connection fails.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from botocore.handlers import add_recursion_detection_header
from botocore.serialize import create_serializer
from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.net.clients import bounded_by, create_client
from forwarder.net.wire import WirePutEvents, request_body
from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.raw_server import RawServer

pytestmark = pytest.mark.integration

ENTRIES = [
    {"Source": "shop", "DetailType": "OrderPlaced", "Detail": '{"id":1,"name":"caf\u00e9 \ud83d\ude00"}',
     "EventBusName": "default", "Time": datetime(2026, 11, 22, 12, 0, 0, 123000, tzinfo=UTC),
     "Resources": ["arn:aws:sqs:us-east-1:123456789012:q"], "TraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793"},
    {"Source": "shop", "DetailType": "OrderPlaced", "Detail": "{}", "EventBusName": "default"},
]


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultEndpoint]:
    with FaultEndpoint() as running:
        monkeypatch.setenv("AWS_ENDPOINT_URL", running.url)
        yield running


def senders() -> tuple[Any, WirePutEvents]:
    """botocore's client with its retries off (each answer seen as it is), and the wire path."""
    session = botocore.session.get_session()
    client = session.create_client("events", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    return client, WirePutEvents(session, create_client("events", 4, session=session))


def check_signature(request: dict[str, Any], secret: str = "testing", path: str = "/") -> None:  # noqa: S107
    """Verify a recorded request's SigV4 signature as the service does: recompute it from what arrived
    (`secret`: the tests' dummy; `path`: the request line's)."""
    headers = {name.lower(): value for name, value in request["headers"].items()}
    algorithm, _, fields = headers["authorization"].partition(" ")
    assert algorithm == "AWS4-HMAC-SHA256"
    parts = dict(part.strip().split("=", 1) for part in fields.split(","))
    access_key, date, region, service, _ = parts["Credential"].split("/")
    signed = parts["SignedHeaders"].split(";")
    assert {"host", "x-amz-date", "x-amz-target", "content-type"} <= set(signed)
    token = headers.get("x-amz-security-token")
    arrived = AWSRequest(method="POST", url=f"http://{headers['host']}{path}", data=request["body"],
                         headers={name: value for name, value in headers.items() if name in signed})
    arrived.context["timestamp"] = headers["x-amz-date"]
    assert headers["x-amz-date"].startswith(date)
    signer = SigV4Auth(Credentials(access_key, secret, token), service, region)
    canonical = signer.canonical_request(arrived)
    expected = signer.signature(signer.string_to_sign(arrived, canonical), arrived)
    assert parts["Signature"] == expected, "the signature does not match what arrived"


def test_entries_arrive_as_botocore_sends_them(endpoint):
    client, wire = senders()
    client.put_events(Entries=ENTRIES)
    through_botocore = endpoint.accepted()
    wire(ENTRIES)
    through_wire = endpoint.accepted()[len(through_botocore):]
    strip = [{k: v for k, v in e.items() if k != "EventId"} for e in through_botocore]
    assert [{k: v for k, v in e.items() if k != "EventId"} for e in through_wire] == strip
    assert through_wire[0]["Time"] == ENTRIES[0]["Time"].timestamp()


def test_the_answer_is_the_services_own(endpoint):
    response = senders()[1](ENTRIES)
    assert response["FailedEntryCount"] == 0
    assert [sorted(result) for result in response["Entries"]] == [["EventId"], ["EventId"]]


def test_requests_are_signed_as_aws_checks_them_with_the_session_token(endpoint):
    client, wire = senders()
    client.put_events(Entries=ENTRIES)
    wire(ENTRIES)
    from_botocore, from_wire = (signing["request"] for signing in endpoint.recent_signing()[-2:])
    check_signature(from_botocore)  # the check itself agrees with botocore's client
    check_signature(from_wire)
    assert from_wire["headers"]["X-Amz-Security-Token"] == "testing"
    tampered = {"headers": from_wire["headers"], "body": from_wire["body"].replace(b"shop", b"shoq")}
    with pytest.raises(AssertionError, match="signature does not match"):
        check_signature(tampered)


def test_inside_lambda_the_invocations_trace_id_goes_as_recursion_detection_header(endpoint, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "forwarder")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    senders()[1](ENTRIES)
    headers = endpoint.recent_signing()[-1]["request"]["headers"]
    assert headers["X-Amzn-Trace-Id"] == "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    assert "app/eventbridge-forwarder" in headers["User-Agent"]


def test_each_request_carries_the_trace_id_of_its_moment_as_botocores_handler_gives_it(endpoint, monkeypatch):
    # The header is made once per trace id (botocore's quoting of it is a request's cost): a warm container's
    # next invocation has another id, and outside Lambda none is sent.
    _, wire = senders()
    sent = []
    for function, trace_id in [("f", "Root=1-a;Sampled=1"), ("f", "Root=1-a;Sampled=1"), ("f", "Root=1-b c/é"),
                               (None, "Root=1-b c/é"), ("f", None), ("f", "Root=1-a;Sampled=1")]:
        for name, value in (("AWS_LAMBDA_FUNCTION_NAME", function), ("_X_AMZN_TRACE_ID", trace_id)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        wire(ENTRIES)
        expected: dict[str, str] = {}
        add_recursion_detection_header({"headers": expected})
        sent.append((endpoint.recent_signing()[-1]["request"]["headers"].get("X-Amzn-Trace-Id"),
                     expected.get("X-Amzn-Trace-Id")))
    assert [got for got, _ in sent] == [expected for _, expected in sent]
    assert [got for got, _ in sent] == ["Root=1-a;Sampled=1"] * 2 + ["Root=1-b%20c%2F%C3%A9", None, None,
                                                                     "Root=1-a;Sampled=1"]


@pytest.mark.parametrize("fault", ["throttle", "http500", "http503", "http429"])
def test_a_refused_request_raises_the_clienterror_botocore_raises(endpoint, fault):
    client, wire = senders()
    answers = []
    for send in (lambda: client.put_events(Entries=ENTRIES), lambda: wire(ENTRIES)):
        endpoint.configure(request_schedule=[fault])
        with pytest.raises(ClientError) as raised:
            send()
        response = raised.value.response
        answers.append((response["Error"], response["ResponseMetadata"]["HTTPStatusCode"], raised.value.operation_name))
    assert answers[0] == answers[1]


def test_a_request_over_the_size_limit_is_a_413_clienterror(endpoint):
    endpoint.configure(max_body_bytes=100)
    with pytest.raises(ClientError) as raised:
        senders()[1](ENTRIES)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


@pytest.mark.parametrize("fault", ["reset", "accepted_reset"])
def test_a_broken_connection_raises_botocores_exception(endpoint, fault):
    endpoint.configure(request_schedule=[fault])
    with pytest.raises(BotoCoreError):
        senders()[1](ENTRIES)
    assert senders()[1](ENTRIES)["FailedEntryCount"] == 0  # the pool recovers


def test_behind_an_http_proxy_the_request_goes_through_botocores_session_to_the_proxy(endpoint, monkeypatch):
    # The fault endpoint stands in for the proxy; the endpoint's own host does not resolve, so only a request
    # sent to the proxy gets an answer. The proxy is sent an absolute URI, which the fault endpoint has no
    # route for: its 404 is the proof the request went there, not a connection error.
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "REQUEST_METHOD"):  # any of these would disable HTTP_PROXY
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", endpoint.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://events.invalid")
    with pytest.raises(ClientError) as raised:
        senders()[1](ENTRIES)
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["Error"]["Message"] == "no route http://events.invalid/"
    assert endpoint.accepted() == []


def test_the_body_is_compact_json(endpoint):
    senders()[1](ENTRIES[1:])
    body = endpoint.recent_signing()[-1]["request"]["body"]
    assert json.loads(body) == {"Entries": [ENTRIES[1]]}
    assert b", " not in body


@pytest.mark.parametrize(
    ("variable", "url"),
    [("AWS_USE_FIPS_ENDPOINT", "https://events-fips.us-west-2.amazonaws.com/"),
     ("AWS_USE_DUALSTACK_ENDPOINT", "https://events.us-west-2.api.aws/")],
)
def test_the_url_is_the_one_botocore_resolved_from_its_settings(monkeypatch, variable, url):
    # No request is sent: the wire path must aim where botocore's client would, FIPS and dual-stack included.
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv(variable, "true")
    session = botocore.session.get_session()
    client = create_client("events", 4, session=session)
    wire = WirePutEvents(session, client)
    assert wire.url == client.meta.endpoint_url.rstrip("/") + "/" == url


# -- the body: UTF-8, the same JSON value as botocore's ----------------------------------------------

# Any code point, lone surrogates included (the forwarder passes them through; see test_hostile.py).
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=40)
WIRE_ENTRIES = st.lists(
    st.fixed_dictionaries(
        {"Source": ANY_TEXT, "DetailType": ANY_TEXT, "Detail": ANY_TEXT},
        optional={"Resources": st.lists(ANY_TEXT, max_size=3), "EventBusName": ANY_TEXT,
                  "TraceHeader": ANY_TEXT,
                  "Time": st.datetimes(timezones=st.just(UTC), min_value=datetime(1971, 1, 1))},
    ),
    min_size=1, max_size=4,
)


def botocore_body(entries: list[dict]) -> bytes:
    """What botocore's serializer sends for these entries."""
    model = botocore.session.get_session().get_service_model("events")
    serializer = create_serializer(model.metadata["protocol"], include_validation=False)
    return serializer.serialize_to_request({"Entries": entries}, model.operation_model("PutEvents"))["body"]


@settings(max_examples=300, deadline=None)
@given(WIRE_ENTRIES)
def test_the_body_is_utf8_json_of_the_same_value_botocore_sends(entries):
    ours, theirs = request_body(entries), botocore_body(entries)
    assert json.loads(ours) == json.loads(theirs)  # lone surrogates decode alike: as escapes on both sides
    ours.decode("utf-8")  # strictly valid UTF-8
    assert len(ours) <= len(theirs)


def test_non_ascii_goes_as_utf8_and_lone_surrogates_as_escapes():
    body = request_body([{"Detail": '{"s":"caf\u00e9 \u4e2d \ud800 \udc00\ud83d"}'}])
    assert "caf\u00e9 \u4e2d".encode() in body
    assert rb"\ud800 \udc00\ud83d" in body


def test_a_detail_of_200000_cjk_characters_is_accepted(endpoint):
    # 600,012 bytes by AWS's formula; escaped as botocore writes it, the body would be 1.2 MB (over 1 MiB: 413).
    detail = json.dumps({"t": "\u4e2d" * 200_000}, ensure_ascii=False)
    entry = {"Source": "shop", "DetailType": "Big", "Detail": detail}
    response = senders()[1]([entry])
    assert response["FailedEntryCount"] == 0
    (accepted,) = endpoint.accepted()
    assert accepted["Detail"] == detail


# -- the request line and the final answer, as botocore's client sees them -----------------------------


class RecordingEndpoint(RawServer):
    """Answers every request with `answer` (raw bytes) and records each request line."""

    def __init__(self, answer: bytes):
        self.answer, self.lines = answer, []
        self.requests: list[dict[str, Any]] = []  # headers and body, as check_signature takes them
        super().__init__()


    def serve(self, sock: socket.socket) -> None:
        with sock, sock.makefile("rb") as reader:
            while line := reader.readline():
                headers = http.client.parse_headers(reader)
                body = reader.read(int(headers.get("Content-Length") or 0))
                self.lines.append(line.decode().strip())
                self.requests.append({"headers": dict(headers.items()), "body": body})
                sock.sendall(self.answer)


@pytest.fixture
def recording() -> Iterator[RecordingEndpoint]:
    body = b'{"FailedEntryCount":0,"Entries":[{"EventId":"1"},{"EventId":"2"}]}'
    final = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body), body)
    server = RecordingEndpoint(b"HTTP/1.1 103 Early Hints\r\nLink: </hint>; rel=preload\r\n\r\n" + final)
    yield server
    server.close()


@pytest.mark.parametrize("path", ["", "/", "/prefix", "/prefix/", "/a/b"])
def test_the_path_on_the_wire_is_botocores(recording, monkeypatch, path):
    monkeypatch.setenv("AWS_ENDPOINT_URL", recording.url + path)
    client, wire = senders()
    client.put_events(Entries=ENTRIES)  # botocore takes the 103 for the answer (below): only its request line counts
    wire(ENTRIES)
    assert recording.lines[0] == recording.lines[1]
    assert recording.lines[0].split()[1] == (path or "/")
    for request in recording.requests:  # both signed for the path they went to
        check_signature(request, path=path or "/")


def test_an_interim_103_is_skipped_for_the_final_answer(recording, monkeypatch):
    # botocore's urllib3 session (urllib3 2.8) takes the 103 for the final answer: put_events then returns
    # HTTPStatusCode 103 and no Entries, and the real answer is left unread on the connection. The wire path
    # and botocore's clients inside bounded_by (which send on forwarder.net.connections) read the final answer.
    monkeypatch.setenv("AWS_ENDPOINT_URL", recording.url)
    session = botocore.session.get_session()
    client = create_client("events", 4, session=session)
    wire = WirePutEvents(session, client)
    with bounded_by(time.monotonic() + 5):
        through_client = client.put_events(Entries=ENTRIES)
    through_wire = wire(ENTRIES, time.monotonic() + 5)
    assert through_client["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert through_client["Entries"] == through_wire["Entries"] == [{"EventId": "1"}, {"EventId": "2"}]


def test_a_trickling_answer_ends_at_the_deadline(endpoint):
    endpoint.configure(request_schedule=["trickle"], trickle_ms=50)
    send = senders()[1]  # made first: on a cold machine, making the client alone could use up the half second
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        send(ENTRIES, started + 0.5)
    assert time.monotonic() - started < 1.5


def test_a_trickled_answer_is_whole_for_a_patient_client(endpoint):
    # The fault endpoint's trickle is a real answer, only slow: botocore's client (whose read timeout is per
    # receive) gets all of it; the entries were accepted, under a fault that counts as ambiguous.
    endpoint.configure(request_schedule=["trickle"], trickle_ms=1)
    client, _ = senders()
    response = client.put_events(Entries=ENTRIES)
    assert [result["EventId"] for result in response["Entries"]] == endpoint.ambiguous()
    assert endpoint.stats()["faults"] == {"trickle": 1}


@settings(max_examples=200, deadline=None)
@given(WIRE_ENTRIES)
def test_time_taken_as_epoch_seconds_by_the_target_sends_the_very_same_body(entries):
    from forwarder.records.record import SourceRecord
    from forwarder.targets.buses import ClassicBus

    # GIVEN entries with Time as the aware datetime build_entry makes WHEN the classic bus's wire path completes
    # them (Time taken as epoch seconds once) THEN the request body is byte for byte what the datetimes gave
    wire = object.__new__(WirePutEvents)  # only its type matters to complete()
    completed = [dict(entry) for entry in entries]
    for fields in completed:
        ClassicBus(fields.get("EventBusName", "default"), wire).complete(fields, SourceRecord("id", None), None)
    with_bus = [{**entry, "EventBusName": fields["EventBusName"]}
                for entry, fields in zip(entries, completed, strict=True)]
    assert request_body(completed) == request_body(with_bus)
    # and a botocore client's path keeps the datetime botocore converts itself
    fields = {"Time": datetime(2026, 1, 1, tzinfo=UTC)}
    ClassicBus("default", lambda entries, deadline: None).complete(fields, SourceRecord("id", None), None)
    assert isinstance(fields["Time"], datetime)
