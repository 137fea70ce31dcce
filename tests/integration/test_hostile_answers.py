"""Answers that are not the API's shape, and requests refused whole, through the real HTTP path.

The fault endpoint answers a request with a scripted status and raw body (`answer_schedule`) or refuses a
request whole for one of its entries (`request_rules`). Whatever it says, the handler returns a partial
batch response: confirmed entries are never sent again, the others are retried or reported, and only the
entry at fault fails.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import botocore.session
import pytest
from botocore.exceptions import ClientError, ResponseStreamingError
from botocore.parsers import ResponseParserError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forwarder.net import http1
from forwarder.net.clients import create_client
from forwarder.net.wire import WirePutEvents
from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.events import reported, sqs_event
from forwarder_testing.lambda_context import LambdaContext
from tests.integration.test_handler import log_lines

pytestmark = pytest.mark.integration

# (status, body) as the issue lists them, and their siblings.
SHAPES = [
    (200, "[]"),
    (200, '"ok"'),
    (200, '{"Entries": [1, 2, 3]}'),
    (200, '{"Entries": "abc"}'),
    (200, '{"Entries": {"a": 1}}'),
    (200, "null"),
    (200, "not json"),
    (200, '{"Entries": [{"EventId": 7}]}'),
    (200, '{"FailedEntryCount": 0}'),
    (200, '{"FailedEntryCount": 1, "Entries": [{"ErrorCode": ["ThrottlingException"]}]}'),
    (200, '{"FailedEntryCount": 1, "Entries": [{"ErrorCode": {"a": 1}}]}'),
    (500, "[]"),
    (503, "null"),
    (500, '{"__type": 5}'),
    (502, "\udcff garbage"),
]
# What the publisher reports a shape's entries with when it gives up on them.
CODES = {500: "500", 503: "503", 502: "502"}



def bodies(count: int) -> list[str]:
    return [json.dumps({"n": n}) for n in range(count)]


def landed(endpoint: FaultEndpoint) -> Counter:
    return Counter(entry["Detail"] for entry in endpoint.accepted())


def summary_of(caplog) -> dict:
    return next(line for line in log_lines(caplog) if line.get("message") == "batch done")


@pytest.mark.parametrize(("status", "body"), SHAPES, ids=[f"{s} {b}" for s, b in SHAPES])
def test_an_answer_of_any_shape_is_retried_and_nothing_is_sent_twice(cold_start, endpoint, status, body):
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    endpoint.configure(answer_schedule=[{"status": status, "body": body}])
    event = sqs_event(bodies(20))  # two requests: one gets the odd answer, the other is confirmed
    response = forwarder(event, LambdaContext(timeout_ms=10_000))
    assert response == {"batchItemFailures": []}
    assert landed(endpoint) == Counter(bodies(20))  # each exactly once: the confirmed ten were not sent again
    assert endpoint.stats()["requests"] == 3


@pytest.mark.parametrize(("status", "body"), SHAPES, ids=[f"{s} {b}" for s, b in SHAPES])
def test_an_answer_of_any_shape_out_of_attempts_reports_its_entries(cold_start, endpoint, caplog, status, body):
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, MAX_ATTEMPTS="1")
    endpoint.configure(answer_schedule=[{"status": status, "body": body}])
    event = sqs_event(bodies(20))
    response = forwarder(event, LambdaContext(timeout_ms=10_000))
    confirmed = {entry["Detail"] for entry in endpoint.accepted()}
    unconfirmed = [r["messageId"] for r in event["Records"] if r["body"] not in confirmed]
    assert len(confirmed) == 10 and reported(response) == unconfirmed  # the odd answer's ten, and only them
    summary = summary_of(caplog)
    assert summary["failures_by_code"] == {CODES.get(status, "MalformedResponse"): 10}
    assert summary["requests"] == 2  # the odd answer's request was sent and counted as such


def test_a_413_for_one_entry_means_that_entry_is_too_large(cold_start, endpoint, caplog):
    # The service counts more bytes than we did: the 413 halves the request, then refuses the big entry alone.
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    endpoint.configure(max_body_bytes=30_000)
    event = sqs_event([*bodies(4), json.dumps({"big": "x" * 40_000})])
    response = forwarder(event, LambdaContext(timeout_ms=10_000))
    assert reported(response) == [event["Records"][4]["messageId"]]
    assert landed(endpoint) == Counter(bodies(4))
    assert summary_of(caplog)["failures_by_code"] == {"EntryTooLarge": 1}


@pytest.fixture
def quarantine_queue(clients, monkeypatch) -> tuple[object, str]:
    sqs = clients("sqs")
    url = sqs.create_queue(QueueName="quarantine")["QueueUrl"]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", sqs.meta.endpoint_url)
    return sqs, url


def quarantined(sqs, url: str) -> list[dict]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_a_request_refused_for_one_entry_is_split_until_that_entry_fails_alone(
    cold_start, endpoint, quarantine_queue, caplog
):
    sqs, url = quarantine_queue
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, POISON_QUEUE_URL=url)
    endpoint.configure(request_rules=[{"contains": "forged", "code": "ValidationException"}])
    healthy = bodies(9)
    event = sqs_event([*healthy[:4], '{"forged": true}', *healthy[4:]])
    response = forwarder(event, LambdaContext(timeout_ms=10_000))
    assert response == {"batchItemFailures": []}
    assert landed(endpoint) == Counter(healthy)  # the nine neighbours, each once
    (moved,) = quarantined(sqs, url)  # the entry at fault, as poison: InvalidArgument
    assert moved["record"]["messageId"] == event["Records"][4]["messageId"]
    assert moved["errorCode"] == "InvalidArgument" and "ValidationException" in moved["errorMessage"]
    # Refused: the 10, then the forged one's 5, 3, 2 and 1; each halving also sends a healthy half (4 more)
    stats = endpoint.stats()
    assert (stats["rejections"]["ValidationException"], stats["requests"]) == (5, 9)


def test_a_request_refused_for_the_setup_is_not_split(cold_start, endpoint, caplog):
    # Access denied would answer every half alike: splitting would only multiply the requests.
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    endpoint.configure(request_rules=[{"contains": '"n"', "code": "AccessDeniedException"}])
    event = sqs_event(bodies(10))
    response = forwarder(event, LambdaContext(timeout_ms=10_000))
    assert reported(response) == [record["messageId"] for record in event["Records"]]
    assert endpoint.stats()["requests"] == 1
    assert summary_of(caplog)["failures_by_code"] == {"AccessDeniedException": 10}


# -- the wire path's reading of any answer ------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
BODIES = st.one_of(
    JSON.map(json.dumps),
    st.fixed_dictionaries({"Entries": JSON}).map(json.dumps),
    st.fixed_dictionaries({"__type": JSON, "message": JSON}).map(json.dumps),
    st.text(max_size=40),  # not JSON, lone surrogates (bytes that are not UTF-8) included
    st.just("[" * 5000),
    # JSON text of exactly the bound's length, or one byte over it (a string literal of that many bytes)
    st.sampled_from([http1.MAX_ANSWER_BYTES, http1.MAX_ANSWER_BYTES + 1]).map(
        lambda size: json.dumps("x" * (size - 2))),
)
# Statuses that carry a body (204, 205 and 304 must not, by HTTP's rules).
STATUSES = st.integers(min_value=200, max_value=599).filter(lambda status: status not in {204, 205, 304})


@pytest.fixture(scope="module")
def wire_endpoint() -> Iterator[tuple[FaultEndpoint, WirePutEvents]]:
    with FaultEndpoint() as ep, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", ep.url)
        session = botocore.session.get_session()
        yield ep, WirePutEvents(session, create_client("events", 2, session=session))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=STATUSES, body=BODIES)
def test_the_wire_path_reads_any_answer_as_json_or_as_a_client_error_with_its_status(wire_endpoint, status, body):
    endpoint, send = wire_endpoint
    endpoint.configure(answer_schedule=[{"status": status, "body": body}])
    entries = [{"Source": "s", "DetailType": "t", "Detail": "{}"}]
    try:
        send(entries)
    except ResponseStreamingError:
        assert len(body) > http1.MAX_ANSWER_BYTES  # refused past the bound, whatever the status: a lost answer
    except ClientError as error:
        assert not 200 <= status < 300
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    except ResponseParserError:
        assert 200 <= status < 300  # a 2xx whose body is not JSON: the publisher's unreadable answer
    else:
        assert 200 <= status < 300  # any JSON value: the publisher reads its shape


# -- what a peer says is bounded before it reaches a log line or a quarantine message -------------------

# Every log line of a batch stays within this, whatever the peer's strings (answers.MAX_PEER_TEXT characters of a
# message, MAX_PEER_CODE of a code, report.MAX_CODES_PER_LINE codes counted by name, and the line's own fields).
MOST_LOG_LINE = 8192
MEGABYTE = "m" * 1_000_000  # with its entry's result, an answer within the 1 MiB an answer may take


def log_line_sizes(caplog) -> list[int]:
    return [len(json.dumps(line)) for line in log_lines(caplog)]


def one_entry_answer(code: str, message: str) -> dict:
    return {"status": 200, "body": json.dumps({"FailedEntryCount": 1, "Entries": [
        {"ErrorCode": code, "ErrorMessage": message}]})}


@pytest.mark.parametrize(("answer", "code"), [
    (one_entry_answer("AccessDeniedException", MEGABYTE), "AccessDeniedException"),  # final: failed at once
    (one_entry_answer("ThrottlingException", MEGABYTE), "ThrottlingException"),  # retryable, out of attempts
    (one_entry_answer("E" * 1_000_000, "m"), "E" * 128),  # a code of a megabyte
    ({"status": 400, "body": json.dumps({"__type": "ValidationException", "message": MEGABYTE})}, "InvalidArgument"),
    ({"status": 500, "body": json.dumps({"__type": "E" * 500_000, "message": "m" * 500_000})}, "E" * 128),
], ids=["entry final", "entry retryable", "entry code", "request refused", "request failed"])
def test_a_megabyte_from_the_peer_gives_bounded_log_lines(cold_start, endpoint, caplog, answer, code):
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, MAX_ATTEMPTS="1")
    endpoint.configure(answer_schedule=[answer])
    event = sqs_event(bodies(1))
    response = forwarder(event, LambdaContext(timeout_ms=10_000))
    assert reported(response) == [event["Records"][0]["messageId"]]
    (failed,) = [line for line in log_lines(caplog) if line.get("item_id")]
    assert failed["error_code"].startswith(code)
    assert max(log_line_sizes(caplog)) <= MOST_LOG_LINE


def test_a_batch_whose_every_entry_fails_with_a_long_message_and_a_code_of_its_own_logs_bounded_lines(
    cold_start, endpoint, caplog
):
    # 60 records, ten per request; each entry a 100 KB message and a long code of its own (60 codes in all).
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, MAX_ATTEMPTS="1")
    answers = [{"status": 200, "body": json.dumps({"FailedEntryCount": 10, "Entries": [
        {"ErrorCode": f"{request}-{entry}-" + "E" * 1000, "ErrorMessage": "m" * 100_000} for entry in range(10)]})}
        for request in range(6)]
    endpoint.configure(answer_schedule=answers)
    event = sqs_event(bodies(60))
    response = forwarder(event, LambdaContext(timeout_ms=10_000))
    assert len(reported(response)) == 60
    summary = summary_of(caplog)
    assert sum(summary["failures_by_code"].values()) == 60 and len(summary["failures_by_code"]) == 20
    assert max(log_line_sizes(caplog)) <= MOST_LOG_LINE
    assert sum(log_line_sizes(caplog)) <= 61 * MOST_LOG_LINE  # was 40 MB


def test_a_quarantine_message_holds_the_peers_message_bounded(cold_start, endpoint, quarantine_queue, caplog):
    sqs, url = quarantine_queue
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, POISON_QUEUE_URL=url)
    endpoint.configure(answer_schedule=[one_entry_answer("MalformedDetail", MEGABYTE)])
    event = sqs_event(bodies(1))
    assert forwarder(event, LambdaContext(timeout_ms=10_000)) == {"batchItemFailures": []}
    (moved,) = quarantined(sqs, url)
    assert moved["errorCode"] == "MalformedDetail"
    assert moved["errorMessage"].startswith("m" * 1024) and len(moved["errorMessage"]) < 1100
    assert max(log_line_sizes(caplog)) <= MOST_LOG_LINE
