"""The fault-injecting PutEvents endpoint, driven by a real boto3 events client over HTTP."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from forwarder_testing.endpoint_process import EndpointProcess
from forwarder_testing.eventbridge_endpoint import FaultEndpoint, entry_size

pytestmark = pytest.mark.integration

SESSION = botocore.session.get_session()  # one session: its loader caches the service model
OK_ENTRY = {"Source": "test.source", "DetailType": "thing.happened", "Detail": '{"n": 1}'}


def make_client(
    endpoint: FaultEndpoint | EndpointProcess, attempts: int = 1, read_timeout: float = 1.0, **config: Any
) -> Any:
    return SESSION.create_client(
        "events",
        region_name="us-east-1",
        endpoint_url=endpoint.url,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - dummy credential for a local fake
        config=Config(
            retries={"mode": "standard", "total_max_attempts": attempts},
            connect_timeout=1,
            read_timeout=read_timeout,
            **config,
        ),
    )


def control(endpoint: FaultEndpoint | EndpointProcess, path: str, payload: dict[str, Any] | None = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    assert endpoint.url.startswith("http://127.0.0.1:")  # so the S310 waivers below are safe
    request = urllib.request.Request(  # noqa: S310 - checked above: http to 127.0.0.1 only
        endpoint.url + path, data=data, method="POST" if data else "GET"
    )
    with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - same
        return json.loads(response.read())


@pytest.fixture
def endpoint() -> Iterator[FaultEndpoint]:
    with FaultEndpoint(slow_ms=1500) as ep:
        yield ep


@pytest.fixture
def client(endpoint: FaultEndpoint) -> Any:
    return make_client(endpoint)


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# --- the happy path and what is recorded ---------------------------------------------------------------


def test_accepted_entries_are_recorded_in_order_with_their_event_ids(endpoint, client):
    # GIVEN two entries using every field PutEvents has
    full = {
        **OK_ENTRY,
        "Time": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "Resources": ["arn:aws:sqs:us-east-1:123456789012:q"],
        "EventBusName": "bus-1",
        "TraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
    }
    # WHEN they are sent
    response = client.put_events(Entries=[full, {**OK_ENTRY, "Detail": '{"n": 2}'}])
    # THEN both succeed and the endpoint holds each whole entry under the EventId it answered
    assert response["FailedEntryCount"] == 0
    ids = [result["EventId"] for result in response["Entries"]]
    accepted = endpoint.accepted()
    assert [entry["EventId"] for entry in accepted] == ids
    assert len(set(ids)) == 2
    first = accepted[0]
    assert first["Time"] == full["Time"].timestamp()  # botocore sends epoch seconds
    for field in ("Source", "DetailType", "Detail", "Resources", "EventBusName", "TraceHeader"):
        assert first[field] == full[field]
    assert accepted[1]["Detail"] == '{"n": 2}'


def test_many_keep_alive_connections_at_once(endpoint):
    # GIVEN one client with a pool of 8 connections, used from 8 threads
    client = make_client(endpoint, max_pool_connections=8)

    def send() -> None:
        for _ in range(20):
            assert client.put_events(Entries=[OK_ENTRY] * 10)["FailedEntryCount"] == 0

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN every entry was accepted exactly once, with unique ids
    accepted = endpoint.accepted()
    assert len(accepted) == 8 * 20 * 10
    assert len({entry["EventId"] for entry in accepted}) == len(accepted)
    assert endpoint.stats()["requests"] == 160


def test_base_latency_applies_to_every_answer(endpoint, client):
    endpoint.configure(latency_ms=25)
    client.put_events(Entries=[OK_ENTRY])  # warm the connection
    started = time.perf_counter()
    client.put_events(Entries=[OK_ENTRY])
    assert time.perf_counter() - started >= 0.025


def test_record_accepted_off_keeps_counts_only(endpoint, client):
    endpoint.configure(record_accepted=False)
    response = client.put_events(Entries=[OK_ENTRY] * 3)
    assert response["FailedEntryCount"] == 0
    assert endpoint.accepted() == []
    assert endpoint.stats()["entries_accepted"] == 3


# --- validation like the real service ------------------------------------------------------------------


def test_more_than_ten_entries_fails_the_request(endpoint, client):
    with pytest.raises(ClientError) as raised:
        client.put_events(Entries=[OK_ENTRY] * 11)
    assert error_of(raised) == ("ValidationException", 400)
    assert endpoint.accepted() == []


def test_zero_entries_fails_the_request(endpoint):
    # botocore itself refuses an empty list, so switch its check off to see what the service says
    client = make_client(endpoint, parameter_validation=False)
    with pytest.raises(ClientError) as raised:
        client.put_events(Entries=[])
    assert error_of(raised) == ("ValidationException", 400)


@pytest.mark.parametrize("missing", ["Source", "DetailType", "Detail"])
def test_entry_missing_a_required_field_fails_alone(endpoint, client, missing):
    bad = {key: value for key, value in OK_ENTRY.items() if key != missing}
    response = client.put_events(Entries=[OK_ENTRY, bad, OK_ENTRY])
    assert response["FailedEntryCount"] == 1
    assert response["Entries"][1]["ErrorCode"] == "InvalidArgument"
    assert missing in response["Entries"][1]["ErrorMessage"]
    assert "EventId" not in response["Entries"][1]
    assert len(endpoint.accepted()) == 2


def test_no_complete_entry_fails_the_whole_request(endpoint, client):
    with pytest.raises(ClientError) as raised:
        client.put_events(Entries=[{"Source": "s"}, {"DetailType": "t", "Detail": "{}"}])
    assert error_of(raised) == ("ValidationException", 400)


@pytest.mark.parametrize("bad", [{**OK_ENTRY, "Detail": 5}, {**OK_ENTRY, "Resources": "arn"}, "entry"])
def test_wrong_json_types_fail_the_request_like_the_service(endpoint, bad):
    # botocore cannot even serialise these, so send the JSON by hand
    connection = http.client.HTTPConnection(endpoint.url.removeprefix("http://"), timeout=2)
    headers = {"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"}
    connection.request("POST", "/", json.dumps({"Entries": [OK_ENTRY, bad]}), headers)
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())["__type"]) == (400, "SerializationException")
    connection.close()
    assert endpoint.accepted() == []


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize(
    ("detail", "well_formed"),
    [
        ("not json", False),
        ("[1, 2]", False),
        ('"a string"', False),
        ('{"a": NaN}', False),
        (nested(1001), False),
        (nested(1000), True),
        ('{"s": "' + "{" * 2000 + '"}', True),  # brackets inside strings are not nesting
        ('{"big": 9223372036854775808}', False),
        ('{"small": -9223372036854775809}', False),
        ('{"max": 9223372036854775807, "min": -9223372036854775808}', True),
        ('{"dup": 1, "dup": 2}', True),
    ],
)
def test_detail_must_be_a_json_object_within_limits(endpoint, client, detail, well_formed):
    response = client.put_events(Entries=[OK_ENTRY, {**OK_ENTRY, "Detail": detail}])
    result = response["Entries"][1]
    if well_formed:
        assert "EventId" in result
        assert endpoint.accepted()[-1]["Detail"] == detail
    else:
        assert result["ErrorCode"] == "MalformedDetail"
        assert response["FailedEntryCount"] == 1


@pytest.mark.parametrize(("length", "accepted"), [(128, True), (129, False)])
def test_detail_type_at_most_128_characters(client, length, accepted):
    response = client.put_events(Entries=[OK_ENTRY, {**OK_ENTRY, "DetailType": "t" * length}])
    result = response["Entries"][1]
    assert ("EventId" in result) is accepted
    assert result.get("ErrorCode") == (None if accepted else "InvalidArgument")


def test_trace_header_over_500_characters_fails_the_request(client):
    with pytest.raises(ClientError) as raised:
        client.put_events(Entries=[{**OK_ENTRY, "TraceHeader": "x" * 501}])
    assert error_of(raised) == ("ValidationException", 400)


def sized_entry() -> tuple[dict[str, Any], int]:
    """An entry and its size by AWS's formula, worked out by hand."""
    entry = {
        "Source": "src",  # 3
        "DetailType": "dété",  # 6 UTF-8 bytes
        "Detail": '{"k": "€"}',  # 12
        "Resources": ["arn:1", "arn:22"],  # 5 + 6
        "Time": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),  # 14
        "TraceHeader": "Root=1-not-counted",  # 0
    }
    return entry, 3 + 6 + 12 + 11 + 14


def test_entry_size_uses_the_aws_formula():
    entry, size = sized_entry()
    assert entry_size({**entry, "Time": 0}) == size


@pytest.mark.parametrize(("limit_delta", "ok"), [(0, True), (-1, False)])
def test_total_entry_size_over_the_limit_fails_the_request(endpoint, client, limit_delta, ok):
    entry, size = sized_entry()
    endpoint.configure(max_entries_bytes=2 * size + limit_delta)
    if ok:
        assert client.put_events(Entries=[entry, entry])["FailedEntryCount"] == 0
        return
    with pytest.raises(ClientError) as raised:
        client.put_events(Entries=[entry, entry])
    assert error_of(raised) == ("ValidationException", 400)
    assert "over the limit" in str(raised.value)


def test_body_over_the_size_limit_gets_413_and_the_client_recovers(endpoint, client):
    endpoint.configure(max_body_bytes=2000)
    with pytest.raises(ClientError) as raised:
        client.put_events(Entries=[{**OK_ENTRY, "Detail": json.dumps({"pad": "x" * 3000})}])
    assert error_of(raised) == ("413", 413)
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 0  # 413 is final
    assert client.put_events(Entries=[OK_ENTRY])["FailedEntryCount"] == 0
    assert endpoint.stats()["rejections"]["http413"] == 1


def test_every_answer_has_content_length(endpoint):
    endpoint.configure(request_schedule=["http503"])
    connection = socket.create_connection(("127.0.0.1", int(endpoint.url.rsplit(":", 1)[1])), timeout=2)
    body = b'{"Entries": []}'
    head = (
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.PutEvents\r\n"
        f"Content-Type: application/x-amz-json-1.1\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with connection, connection.makefile("rb") as answers:
        for _ in range(2):  # the 503, then a ValidationException, on one keep-alive connection
            connection.sendall(head.encode() + body)
            status = answers.readline()
            headers = {}
            while (line := answers.readline()) != b"\r\n":
                name, value = line.decode().split(":", 1)
                headers[name.lower()] = value.strip()
            payload = json.loads(answers.read(int(headers["content-length"])))
            assert status.split()[1] in (b"503", b"400")
            assert payload["__type"] in ("ServiceUnavailable", "ValidationException")
            assert headers["x-amzn-errortype"] == payload["__type"]


# --- request-level faults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [("throttle", "ThrottlingException", 400), ("http500", "InternalException", 500),
     ("http503", "ServiceUnavailable", 503), ("http429", "TooManyRequests", 429)],
)
def test_request_error_faults_raise_proper_client_errors(endpoint, client, kind, code, status):
    endpoint.configure(request_schedule=[kind])
    with pytest.raises(ClientError) as raised:
        client.put_events(Entries=[OK_ENTRY])
    assert error_of(raised) == (code, status)
    assert endpoint.accepted() == []
    assert endpoint.stats()["faults"] == {kind: 1}


@pytest.mark.parametrize("kind", ["throttle", "http500", "http503", "http429"])
def test_standard_retry_mode_retries_a_one_shot_request_fault(endpoint, kind):
    endpoint.configure(request_schedule=[kind])
    response = make_client(endpoint, attempts=3).put_events(Entries=[OK_ENTRY])
    assert response["FailedEntryCount"] == 0
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(endpoint.accepted()) == 1


def test_reset_raises_a_connection_error_and_accepts_nothing(endpoint, client):
    endpoint.configure(request_schedule=["reset"])
    with pytest.raises(ConnectionClosedError):
        client.put_events(Entries=[OK_ENTRY])
    assert endpoint.accepted() == []
    assert client.put_events(Entries=[OK_ENTRY])["FailedEntryCount"] == 0  # the pool recovers


def test_reset_is_a_tcp_rst(endpoint):
    endpoint.configure(request_schedule=["reset"])
    with socket.create_connection(("127.0.0.1", int(endpoint.url.rsplit(":", 1)[1])), timeout=2) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.PutEvents\r\n"
                     b"Content-Length: 2\r\n\r\n{}")
        with pytest.raises(ConnectionResetError):
            sock.recv(1024)


def test_slow_answer_times_the_client_out_but_the_entries_still_land(endpoint):
    endpoint.configure(request_schedule=["slow"], slow_ms=800)
    with pytest.raises(ReadTimeoutError):
        make_client(endpoint, read_timeout=0.3).put_events(Entries=[OK_ENTRY])
    deadline = time.monotonic() + 3
    while not endpoint.accepted() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(endpoint.accepted()) == 1


def test_accepted_but_unanswered_records_the_entry_while_the_client_times_out(endpoint):
    endpoint.configure(request_schedule=["accepted_hang"])
    with pytest.raises(ReadTimeoutError):
        make_client(endpoint, read_timeout=0.3).put_events(Entries=[OK_ENTRY])
    assert [entry["Detail"] for entry in endpoint.accepted()] == [OK_ENTRY["Detail"]]


def test_accepted_then_reset_makes_a_retrying_client_send_a_duplicate(endpoint):
    endpoint.configure(request_schedule=["accepted_reset"])
    response = make_client(endpoint, attempts=2).put_events(Entries=[OK_ENTRY])
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    accepted = endpoint.accepted()
    assert len(accepted) == 2  # the ambiguous duplicate
    assert accepted[1]["EventId"] == response["Entries"][0]["EventId"]
    # Only the copy whose answer was lost is marked ambiguous, in process and over HTTP.
    assert endpoint.ambiguous() == [accepted[0]["EventId"]]
    assert control(endpoint, "/_fault/ambiguous?since=0") == {"count": 1, "event_ids": [accepted[0]["EventId"]]}
    assert control(endpoint, "/_fault/ambiguous?since=1") == {"count": 1, "event_ids": []}


def test_accepted_then_reset_raises_a_connection_error_without_retries(endpoint, client):
    endpoint.configure(request_schedule=["accepted_reset"])
    with pytest.raises(ConnectionClosedError):
        client.put_events(Entries=[OK_ENTRY])
    assert len(endpoint.accepted()) == 1


def test_request_fault_probability_is_reproducible_with_a_seed(endpoint, client):
    def outcomes() -> list[str]:
        endpoint.reset()
        endpoint.configure(seed=42, request_faults={"throttle": 0.3, "http500": 0.2})
        seen = []
        for _ in range(30):
            try:
                client.put_events(Entries=[OK_ENTRY])
                seen.append("ok")
            except ClientError as error:
                seen.append(error.response["Error"]["Code"])
        return seen

    first = outcomes()
    assert first == outcomes()
    assert {"ok", "ThrottlingException", "InternalException"} == set(first)
    assert endpoint.stats()["faults"]["throttle"] == first.count("ThrottlingException")


# --- per-entry faults ------------------------------------------------------------------------------------


def test_entry_schedule_fails_chosen_entries_with_chosen_codes(endpoint, client):
    schedule = ["InternalFailure", None, "AccessDeniedException", "ThrottlingException"]
    endpoint.configure(entry_schedule=schedule)
    response = client.put_events(Entries=[OK_ENTRY] * 5)
    codes = [result.get("ErrorCode") for result in response["Entries"]]
    assert codes == ["InternalFailure", None, "AccessDeniedException", "ThrottlingException", None]
    assert response["FailedEntryCount"] == 3
    assert len(endpoint.accepted()) == 2
    assert endpoint.stats()["faults"]["entry:InternalFailure"] == 1


def test_detail_rule_always_fails_the_targeted_record(endpoint, client):
    endpoint.configure(detail_rules=[{"contains": "poison", "code": "MalformedDetail"}])
    poison = {**OK_ENTRY, "Detail": '{"kind": "poison"}'}
    for _ in range(2):  # every time, not once
        response = client.put_events(Entries=[OK_ENTRY, poison])
        assert [r.get("ErrorCode") for r in response["Entries"]] == [None, "MalformedDetail"]
    assert all("poison" not in entry["Detail"] for entry in endpoint.accepted())


def test_entry_fault_probability_is_reproducible_with_a_seed(endpoint, client):
    def codes() -> list[str | None]:
        endpoint.reset()
        endpoint.configure(seed=7, entry_faults={"InternalFailure": 0.2, "InvalidArgument": 0.1})
        results = []
        for _ in range(10):
            results += [r.get("ErrorCode") for r in client.put_events(Entries=[OK_ENTRY] * 10)["Entries"]]
        return results

    first = codes()
    assert first == codes()
    assert {None, "InternalFailure", "InvalidArgument"} == set(first)
    assert endpoint.stats()["entries_accepted"] == first.count(None)


# --- control routes and running as a process ---------------------------------------------------------------


def test_control_routes_drive_the_endpoint_over_http(endpoint, client):
    config = control(endpoint, "/_fault/config", {"request_schedule": ["http503"], "latency_ms": 1})
    assert config["request_schedule"] == ["http503"]
    assert control(endpoint, "/_fault/config")["latency_ms"] == 1
    with pytest.raises(ClientError):
        client.put_events(Entries=[OK_ENTRY])
    client.put_events(Entries=[OK_ENTRY, {**OK_ENTRY, "Detail": '{"n": 2}'}])
    assert control(endpoint, "/_fault/stats")["faults"] == {"http503": 1}
    later = control(endpoint, "/_fault/accepted?since=1")
    assert later["count"] == 2
    assert [entry["Detail"] for entry in later["entries"]] == ['{"n": 2}']
    control(endpoint, "/_fault/reset", {})
    assert control(endpoint, "/_fault/accepted")["entries"] == []
    assert control(endpoint, "/_fault/config")["request_schedule"] == []


def test_control_route_rejects_unknown_keys_and_kinds(endpoint):
    for bad in ({"no_such_key": 1}, {"request_schedule": ["meteor"]}, {"request_faults": {"throttle": 1.5}}):
        with pytest.raises(urllib.error.HTTPError) as raised:
            control(endpoint, "/_fault/config", bad)
        assert raised.value.code == 400


def test_runs_as_its_own_process():
    with EndpointProcess(latency_ms=10) as remote:
        assert remote.url.startswith("http://127.0.0.1:")
        assert control(remote, "/_fault/config")["latency_ms"] == 10
        control(remote, "/_fault/config", {"entry_schedule": ["InternalFailure"]})
        response = make_client(remote).put_events(Entries=[OK_ENTRY, OK_ENTRY])
        assert [r.get("ErrorCode") for r in response["Entries"]] == ["InternalFailure", None]
        assert control(remote, "/_fault/stats")["faults"] == {"entry:InternalFailure": 1}
    assert remote.returncode == 0
