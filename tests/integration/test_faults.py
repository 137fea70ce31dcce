"""The handler, as Lambda calls it, against the fault-injecting PutEvents endpoint over real HTTP.

Each test injects one kind of fault and checks what the partial batch response says and what
really landed on the bus (`endpoint.accepted()`): nothing lost, nothing confirmed twice, nothing
reported that was confirmed.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.events import reported, sqs_event, sqs_record
from forwarder_testing.lambda_context import LambdaContext
from tests.integration.test_handler import log_lines

pytestmark = pytest.mark.integration

TRACE_A = "Root=1-6740a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_B = "Root=1-6740a1b2-fedcba9876543210fedcba98;Parent=0000000000000001;Sampled=0;Lineage=a87bd80c:1"
HANG_MS = 8000  # longer than the handler's 5 s read timeout: only the deadline ends the wait


@pytest.fixture
def endpoint() -> Iterator[FaultEndpoint]:
    with FaultEndpoint(slow_ms=HANG_MS) as ep:
        yield ep


@pytest.fixture
def forwarder(cold_start, endpoint):
    return cold_start(AWS_ENDPOINT_URL=endpoint.url)


def bodies(count: int, pad: int = 0) -> list[str]:
    return [json.dumps({"n": n, "pad": "x" * pad}) for n in range(count)]


def ids(event: dict) -> list[str]:
    return [record["messageId"] for record in event["Records"]]


def landed(endpoint: FaultEndpoint) -> Counter:
    """How often each Detail reached the bus."""
    return Counter(entry["Detail"] for entry in endpoint.accepted())


def test_retryable_entry_codes_are_retried_until_confirmed(endpoint, forwarder, context):
    endpoint.configure(entry_schedule=["InternalFailure", "ThrottlingException", "ok", "InternalFailure"])
    event = sqs_event(bodies(3))
    assert forwarder(event, context) == {"batchItemFailures": []}
    assert landed(endpoint) == Counter(bodies(3))  # each exactly once
    faults = endpoint.stats()["faults"]
    assert (faults["entry:InternalFailure"], faults["entry:ThrottlingException"]) == (2, 1)


def test_an_entry_still_failing_after_max_attempts_is_reported_with_its_last_code(cold_start, endpoint, caplog):
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, MAX_ATTEMPTS="3")
    endpoint.configure(detail_rules=[{"contains": "unlucky", "code": "ThrottlingException"}])
    event = sqs_event(['{"unlucky": 1}', '{"a": 1}'])
    response = forwarder(event, LambdaContext())
    assert reported(response) == [ids(event)[0]]
    assert landed(endpoint) == Counter(['{"a": 1}'])
    assert endpoint.stats()["faults"] == {"entry:ThrottlingException": 3}  # sent exactly MAX_ATTEMPTS times
    warning = next(line for line in log_lines(caplog) if line["level"] == "WARNING")
    assert (warning["error_code"], warning["attempts"]) == ("ThrottlingException", 3)


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "InvalidArgument", "MalformedDetail", "NotAuthorizedForSourceException"]
)
def test_final_entry_codes_are_reported_at_once_and_sent_once(endpoint, forwarder, context, caplog, code):
    endpoint.configure(detail_rules=[{"contains": "doomed", "code": code}])
    event = sqs_event(['{"a": 1}', '{"doomed": true}', '{"a": 2}'])
    response = forwarder(event, context)
    assert reported(response) == [ids(event)[1]]
    assert landed(endpoint) == Counter(['{"a": 1}', '{"a": 2}'])
    assert endpoint.stats()["entries_received"] == 3  # the doomed entry was not retried
    warning = next(line for line in log_lines(caplog) if line["level"] == "WARNING")
    assert (warning["item_id"], warning["error_code"], warning["attempts"]) == (ids(event)[1], code, 1)


@pytest.mark.parametrize("kind", ["throttle", "http500", "http503", "http429", "reset"])
def test_failed_requests_are_retried_until_their_entries_are_confirmed(endpoint, forwarder, context, kind):
    # The handler's wire path leaves request retries to the publisher: three failures in a row, then success.
    endpoint.configure(request_schedule=[kind] * 3)
    event = sqs_event(bodies(4))
    assert forwarder(event, context) == {"batchItemFailures": []}
    assert landed(endpoint) == Counter(bodies(4))
    assert endpoint.stats()["faults"] == {kind: 3}


@pytest.mark.parametrize("kind", ["accepted_hang", "slow"])
def test_a_request_answered_after_the_deadline_is_reported_before_the_deadline(cold_start, endpoint, kind):
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, DEADLINE_MARGIN_MS="500")
    endpoint.configure(request_schedule=[kind])
    event = sqs_event(bodies(3))
    context = LambdaContext(timeout_ms=2000)
    started = time.monotonic()
    response = forwarder(event, context)
    assert time.monotonic() - started < 2.0  # before Lambda's deadline, although the answer never came
    assert reported(response) == ids(event)  # unconfirmed: Lambda redelivers them
    if kind == "accepted_hang":  # the entries did land: the redelivery will be an ambiguous duplicate
        assert landed(endpoint) == Counter(bodies(3))
        assert len(endpoint.ambiguous()) == 3


def test_deadline_exceeded_records_are_logged_with_that_reason(cold_start, endpoint, caplog):
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, DEADLINE_MARGIN_MS="500")
    endpoint.configure(request_schedule=["accepted_hang"])
    event = sqs_event(bodies(2))
    forwarder(event, LambdaContext(timeout_ms=1500))
    warnings = [line for line in log_lines(caplog) if line["level"] == "WARNING"]
    assert {(line["item_id"], line["error_code"]) for line in warnings} == {(i, "DeadlineExceeded") for i in ids(event)}


def test_trace_header_is_the_messages_else_the_invocations(endpoint, forwarder, context, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_B)
    event = {"Records": [sqs_record('{"n": 0}', trace=TRACE_A), sqs_record('{"n": 1}')]}
    assert forwarder(event, context) == {"batchItemFailures": []}
    traces = {entry["Detail"]: entry.get("TraceHeader") for entry in endpoint.accepted()}
    assert traces == {'{"n": 0}': TRACE_A, '{"n": 1}': TRACE_B}


def test_without_any_trace_header_none_is_sent(endpoint, forwarder, context, monkeypatch):
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    assert forwarder(sqs_event(['{"n": 0}']), context) == {"batchItemFailures": []}
    assert "TraceHeader" not in endpoint.accepted()[0]


def test_with_the_old_256_kib_limit_no_request_exceeds_it(cold_start, endpoint, context):
    # The endpoint refuses any request whose entries total 262144 bytes or more (AWS: "less than").
    endpoint.configure(max_entries_bytes=262_143)
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, PUT_EVENTS_MAX_BYTES="262144")
    event = sqs_event(bodies(30, pad=40_000))  # 10 of them would be 400 KB: they must be split
    assert forwarder(event, context) == {"batchItemFailures": []}
    assert landed(endpoint) == Counter(bodies(30, pad=40_000))
    stats = endpoint.stats()
    assert stats["rejections"] == {}
    assert stats["requests"] >= 5  # 30 x 40 KB in requests below 256 KiB


def test_a_413_from_the_endpoint_halves_the_request_until_it_fits(endpoint, forwarder):
    endpoint.configure(max_body_bytes=70_000)  # the service's byte count is larger than ours here
    event = sqs_event(bodies(10, pad=20_000))  # 200 KB: one request by our count, far over 70 KB
    assert forwarder(event, LambdaContext(timeout_ms=10_000)) == {"batchItemFailures": []}
    assert landed(endpoint) == Counter(bodies(10, pad=20_000))  # each once: a 413 accepts nothing
    stats = endpoint.stats()
    # 10 -> 5 + 5 -> 2 + 3 + 2 + 3: three rounds of halving, not the same request again and again
    assert stats["rejections"]["http413"] <= 3
    assert stats["requests"] <= 10
