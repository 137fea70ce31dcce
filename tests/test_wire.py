"""forwarder.wire beside botocore's own client, over HTTP to the same fault endpoint.

Whatever the handler's request path sends or raises must be what botocore's client would: a body
that says the same, a signature AWS accepts, the same ClientError for the same answer, and
botocore's exceptions when the connection fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

from forwarder.clients import create_client
from forwarder.wire import WirePutEvents
from tests.fakes.eventbridge_endpoint import FaultEndpoint

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


def check_signature(request: dict[str, Any], secret: str = "testing") -> None:  # noqa: S107 - the tests' dummy
    """Verify a recorded request's SigV4 signature as the service does: recompute it from what arrived."""
    headers = {name.lower(): value for name, value in request["headers"].items()}
    algorithm, _, fields = headers["authorization"].partition(" ")
    assert algorithm == "AWS4-HMAC-SHA256"
    parts = dict(part.strip().split("=", 1) for part in fields.split(","))
    access_key, date, region, service, _ = parts["Credential"].split("/")
    signed = parts["SignedHeaders"].split(";")
    assert {"host", "x-amz-date", "x-amz-target", "content-type"} <= set(signed)
    token = headers.get("x-amz-security-token")
    arrived = AWSRequest(method="POST", url=f"http://{headers['host']}/", data=request["body"],
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
