"""The fault endpoint's eventbridgev2 side (rpc-v2-cbor), driven by a real botocore eventbridgev2 client."""

from __future__ import annotations

import datetime as dt
import http.client
import time
import urllib.error
from collections.abc import Iterator
from typing import Any

import botocore.session
import cbor2
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from forwarder_testing.endpoint_process import EndpointProcess
from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.eventbridge_v2 import OPERATION_PATH
from tests.integration.test_fault_endpoint import OK_ENTRY, control, error_of
from tests.integration.test_fault_endpoint import make_client as make_classic_client

pytestmark = pytest.mark.integration

SESSION = botocore.session.get_session()
BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
OTHER_BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/billing/zyxwvutsrqponmlkjihgfedcb"
ENTRY = {"Source": "test.source", "DetailType": "thing.happened", "Detail": '{"n": 1}'}


def make_client(endpoint: FaultEndpoint | EndpointProcess, attempts: int = 1, read_timeout: float = 1.0,
                **config: Any) -> Any:
    return SESSION.create_client(
        "eventbridgev2",
        region_name="us-east-1",
        endpoint_url=endpoint.url,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - dummy credential for a local fake
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}, connect_timeout=1,
                      read_timeout=read_timeout, **config),
    )


def with_id(dedup_id: str, **fields: Any) -> dict[str, Any]:
    return {**ENTRY, **fields, "SystemMetadata": {"DeduplicationId": dedup_id}}


def codes(response: dict[str, Any]) -> list[str | None]:
    return [result.get("SuccessCode") or result.get("ErrorCode") for result in response["Entries"]]


def raw_post(endpoint: FaultEndpoint, path: str, body: bytes,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """A hand-made request, for what botocore will not send; returns (status, headers, decoded body)."""
    connection = http.client.HTTPConnection("127.0.0.1", int(endpoint.url.rsplit(":", 1)[1]), timeout=2)
    try:
        sent = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", **(headers or {})}
        connection.request("POST", path, body=body, headers={k: v for k, v in sent.items() if v})
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, cbor2.loads(data)
    finally:
        connection.close()


@pytest.fixture
def endpoint() -> Iterator[FaultEndpoint]:
    with FaultEndpoint(slow_ms=1500) as ep:
        yield ep


@pytest.fixture
def client(endpoint: FaultEndpoint) -> Any:
    return make_client(endpoint)


# --- publishing and what is recorded ----------------------------------------------------------------------


def test_published_entries_are_recorded_with_the_bus_and_system_metadata(endpoint, client):
    # GIVEN one entry with every field v2 PutEvents has, and one bare entry (Detail is optional in v2)
    full = {**ENTRY, "Resources": ["arn:aws:sqs:us-east-1:123456789012:q"],
            "Time": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            "SystemMetadata": {"EventGroupId": "g-1", "DeduplicationId": "d-1"}}
    bare = {"Source": "test.source", "DetailType": "bare"}
    # WHEN they are published
    response = client.put_events(EventBusArn=BUS, Entries=[full, bare])
    # THEN both are PUBLISHED with distinct EventIds and rising SequenceNumbers, recorded as answered
    assert response["FailedEntryCount"] == 0
    assert codes(response) == ["PUBLISHED", "PUBLISHED"]
    results = response["Entries"]
    accepted = endpoint.accepted_v2()
    assert [(e["EventId"], e["SequenceNumber"]) for e in accepted] == [
        (r["EventId"], r["SequenceNumber"]) for r in results]
    assert len({r["EventId"] for r in results}) == 2
    assert int(results[0]["SequenceNumber"]) < int(results[1]["SequenceNumber"])
    first = accepted[0]
    assert first["Api"] == "eventbridgev2"
    assert first["EventBusArn"] == BUS
    for field in ("Source", "DetailType", "Detail", "Resources", "SystemMetadata"):
        assert first[field] == full[field]
    assert first["Time"] == full["Time"].timestamp()
    assert "Detail" not in accepted[1]
    assert endpoint.recent_signing()[-1]["service"] == "events"  # the model's signing name


def test_one_endpoint_serves_both_apis_in_one_accepted_list(endpoint, client):
    make_classic_client(endpoint).put_events(Entries=[OK_ENTRY])
    client.put_events(EventBusArn=BUS, Entries=[ENTRY])
    accepted = endpoint.accepted()
    assert [entry.get("Api") for entry in accepted] == [None, "eventbridgev2"]
    assert endpoint.accepted_v2() == accepted[1:]
    assert accepted[0]["EventId"] != accepted[1]["EventId"]
    stats = endpoint.stats()
    assert (stats["requests"], stats["entries_accepted"]) == (2, 2)
    assert stats["eventbridgev2"] == {"requests": 1, "entries_received": 1, "entries_accepted": 1,
                                      "entries_deduplicated": 0, "raw_entries_received": 0,
                                      "dedup_keys": 0}


# --- the deduplication window ---------------------------------------------------------------------------


def test_resend_with_the_same_deduplication_id_is_deduplicated_not_recorded(endpoint, client):
    first = client.put_events(EventBusArn=BUS, Entries=[with_id("order-1")])["Entries"][0]
    # WHEN the same id comes again, alone and twice within one request, next to a new id
    again = client.put_events(EventBusArn=BUS, Entries=[with_id("order-1", Detail='{"n": 2}'),
                                                        with_id("order-2"), with_id("order-2")])
    # THEN the repeats answer DEDUPLICATED with the first EventId and SequenceNumber, and only once recorded
    assert codes(again) == ["DEDUPLICATED", "PUBLISHED", "DEDUPLICATED"]
    assert again["FailedEntryCount"] == 0
    assert {k: again["Entries"][0][k] for k in ("EventId", "SequenceNumber")} == {
        k: first[k] for k in ("EventId", "SequenceNumber")}
    assert again["Entries"][2]["EventId"] == again["Entries"][1]["EventId"]
    assert [e["SystemMetadata"]["DeduplicationId"] for e in endpoint.accepted_v2()] == ["order-1", "order-2"]
    assert endpoint.stats()["entries_deduplicated"] == 2


def test_deduplication_is_per_bus_and_entries_without_an_id_are_never_deduplicated(client):
    client.put_events(EventBusArn=BUS, Entries=[with_id("x"), ENTRY])
    response = client.put_events(EventBusArn=OTHER_BUS, Entries=[with_id("x")])
    assert codes(response) == ["PUBLISHED"]
    assert codes(client.put_events(EventBusArn=BUS, Entries=[ENTRY])) == ["PUBLISHED"]


def test_content_based_deduplication_hashes_the_content(endpoint, client):
    content = {"DeduplicationType": "CONTENT_BASED"}
    first = client.put_events(EventBusArn=BUS, Entries=[ENTRY], DeduplicationConfiguration=content)
    same = client.put_events(EventBusArn=BUS, Entries=[ENTRY, {**ENTRY, "Detail": '{"n": 2}'}],
                             DeduplicationConfiguration=content)
    assert codes(same) == ["DEDUPLICATED", "PUBLISHED"]
    assert same["Entries"][0]["EventId"] == first["Entries"][0]["EventId"]
    # without the configuration, the same content is published again
    assert codes(client.put_events(EventBusArn=BUS, Entries=[ENTRY])) == ["PUBLISHED"]
    # an explicit DeduplicationId takes precedence over the content hash
    explicit = client.put_events(EventBusArn=BUS, Entries=[with_id("own")], DeduplicationConfiguration=content)
    assert codes(explicit) == ["PUBLISHED"]
    assert len(endpoint.accepted_v2()) == 4
    assert endpoint.accepted_v2()[0]["DeduplicationConfiguration"] == content


def test_the_window_expires_and_a_duplicate_does_not_extend_it(endpoint, client):
    endpoint.configure(dedup_window_seconds=1.0)
    first = client.put_events(EventBusArn=BUS, Entries=[with_id("w")])["Entries"][0]["EventId"]
    time.sleep(0.6)
    assert codes(client.put_events(EventBusArn=BUS, Entries=[with_id("w")])) == ["DEDUPLICATED"]
    time.sleep(0.6)  # 1.2 s after the first acceptance, 0.6 s after the duplicate
    later = client.put_events(EventBusArn=BUS, Entries=[with_id("w")])["Entries"][0]
    assert later["SuccessCode"] == "PUBLISHED"
    assert later["EventId"] != first
    assert codes(client.put_events(EventBusArn=BUS, Entries=[with_id("w")])) == ["DEDUPLICATED"]
    assert len(endpoint.accepted_v2()) == 2


def test_a_shortened_window_applies_to_new_keys_and_expired_keys_are_dropped(endpoint, client):
    # GIVEN a key under the default window, then many keys under a short one
    client.put_events(EventBusArn=BUS, Entries=[with_id("long")])
    endpoint.configure(dedup_window_seconds=0.3)
    client.put_events(EventBusArn=BUS, Entries=[with_id(f"short-{n}") for n in range(50)])
    assert endpoint.stats()["eventbridgev2"]["dedup_keys"] == 51
    time.sleep(0.4)
    # WHEN one of the short keys comes again
    response = client.put_events(EventBusArn=BUS, Entries=[with_id("short-7"), with_id("long")])
    # THEN it has expired although an older key is still live, and the expired keys are no longer held
    assert codes(response) == ["PUBLISHED", "DEDUPLICATED"]
    assert endpoint.stats()["eventbridgev2"]["dedup_keys"] == 2


def test_default_window_is_five_minutes_and_a_negative_one_is_refused(endpoint):
    assert endpoint.configure()["dedup_window_seconds"] == 300
    with pytest.raises(ValueError, match="dedup_window_seconds"):
        endpoint.configure(dedup_window_seconds=-1)


# --- request faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [("throttle", "ThrottlingException", 429), ("http500", "InternalException", 500),
     ("http503", "ServiceUnavailable", 503), ("http429", "TooManyRequests", 429)],
)
def test_request_faults_are_client_errors_that_standard_mode_retries(endpoint, client, kind, code, status):
    endpoint.configure(request_schedule=[kind])
    with pytest.raises(ClientError) as raised:
        client.put_events(EventBusArn=BUS, Entries=[ENTRY])
    assert error_of(raised) == (code, status)
    assert endpoint.accepted_v2() == []
    endpoint.configure(request_schedule=[kind])
    response = make_client(endpoint, attempts=3).put_events(EventBusArn=BUS, Entries=[ENTRY])
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert codes(response) == ["PUBLISHED"]
    assert endpoint.stats()["faults"] == {kind: 2}


def test_reset_accepts_nothing_and_the_pool_recovers(endpoint, client):
    endpoint.configure(request_schedule=["reset"])
    with pytest.raises(ConnectionClosedError):
        client.put_events(EventBusArn=BUS, Entries=[with_id("r")])
    assert endpoint.accepted_v2() == []
    assert codes(client.put_events(EventBusArn=BUS, Entries=[with_id("r")])) == ["PUBLISHED"]


def test_accepted_hang_records_the_entry_and_the_resend_is_deduplicated(endpoint):
    # GIVEN an answer that never comes although the entry was accepted
    endpoint.configure(request_schedule=["accepted_hang"])
    with pytest.raises(ReadTimeoutError):
        make_client(endpoint, read_timeout=0.3).put_events(EventBusArn=BUS, Entries=[with_id("h")])
    (recorded,) = endpoint.accepted_v2()
    # WHEN the caller sends it again
    response = make_client(endpoint).put_events(EventBusArn=BUS, Entries=[with_id("h")])
    # THEN it is DEDUPLICATED under the EventId the caller never saw, and not recorded twice
    assert codes(response) == ["DEDUPLICATED"]
    assert response["Entries"][0]["EventId"] == recorded["EventId"]
    assert len(endpoint.accepted_v2()) == 1


@pytest.mark.parametrize("kind", ["accepted_hang", "accepted_reset"])
def test_botocore_retry_after_an_unanswered_acceptance_comes_back_deduplicated(endpoint, kind):
    endpoint.configure(request_schedule=[kind])
    client = make_client(endpoint, attempts=2, read_timeout=0.3)
    response = client.put_events(EventBusArn=BUS, Entries=[with_id("k"), ENTRY])
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    # the entry with an id is not published twice; the one without is (the ambiguous duplicate)
    assert codes(response) == ["DEDUPLICATED", "PUBLISHED"]
    accepted = endpoint.accepted_v2()
    assert len(accepted) == 3
    assert endpoint.stats()["eventbridgev2"]["entries_deduplicated"] == 1
    # the first attempt's entries are listed as ambiguous, which explains the duplicate; the retry's are not
    assert endpoint.ambiguous() == [entry["EventId"] for entry in accepted[:2]]


def test_only_entries_published_under_an_ambiguous_fault_are_ambiguous(endpoint, client):
    client.put_events(EventBusArn=BUS, Entries=[with_id("seen")])
    endpoint.configure(request_schedule=["slow"], slow_ms=10)
    response = client.put_events(EventBusArn=BUS, Entries=[with_id("seen"), with_id("new")])
    assert codes(response) == ["DEDUPLICATED", "PUBLISHED"]
    assert endpoint.ambiguous() == [response["Entries"][1]["EventId"]]


# --- entry faults ------------------------------------------------------------------------------------------


def test_entry_faults_and_detail_rules_apply_before_the_window(endpoint, client):
    endpoint.configure(entry_schedule=["InternalFailure"],
                       detail_rules=[{"contains": "poison", "code": "MalformedDetail"}])
    poison = with_id("p", Detail='{"kind": "poison"}')
    response = client.put_events(EventBusArn=BUS, Entries=[with_id("f"), poison, with_id("ok")])
    assert codes(response) == ["InternalFailure", "MalformedDetail", "PUBLISHED"]
    assert response["FailedEntryCount"] == 2
    # a failed entry never entered the window: its resend is published, the poison fails every time
    again = client.put_events(EventBusArn=BUS, Entries=[with_id("f"), poison])
    assert codes(again) == ["PUBLISHED", "MalformedDetail"]
    assert endpoint.stats()["faults"] == {"entry:InternalFailure": 1, "entry:MalformedDetail": 2}


# --- validation ----------------------------------------------------------------------------------------------


def test_more_than_100_entries_fails_the_request_and_100_pass(endpoint, client):
    with pytest.raises(ClientError) as raised:
        client.put_events(EventBusArn=BUS, Entries=[ENTRY] * 101)
    assert error_of(raised) == ("InvalidInputException", 400)
    assert "/Entries" in raised.value.response["Error"]["Message"]
    assert endpoint.accepted_v2() == []
    assert client.put_events(EventBusArn=BUS, Entries=[ENTRY] * 100)["FailedEntryCount"] == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"Source": "test.source"},  # no DetailType
        {"DetailType": "thing.happened"},  # no Source
        {**ENTRY, "DetailType": "x" * 129},
        {**ENTRY, "Source": "s" * 257},
        {**ENTRY, "SystemMetadata": {"DeduplicationId": " \t "}},
        {**ENTRY, "SystemMetadata": {"EventGroupId": "g" * 129}},
        {**ENTRY, "Resources": ["r"] * 101},
    ],
)
def test_an_entry_breaking_the_model_fails_the_whole_request(endpoint, bad):
    client = make_client(endpoint, parameter_validation=False)  # botocore would refuse to send some
    with pytest.raises(ClientError) as raised:
        client.put_events(EventBusArn=BUS, Entries=[ENTRY, bad])
    assert error_of(raised) == ("InvalidInputException", 400)
    assert endpoint.accepted_v2() == []
    assert endpoint.stats()["rejections"] == {"InvalidInputException": 1}


@pytest.mark.parametrize(
    "arn",
    [BUS[:-1], BUS.replace("event-busv2", "event-bus"), BUS.replace("123456789012", "1234"), "orders"],
)
def test_a_bad_event_bus_arn_fails_the_request(client, arn):
    with pytest.raises(ClientError) as raised:
        client.put_events(EventBusArn=arn, Entries=[ENTRY])
    assert error_of(raised) == ("InvalidInputException", 400)


@pytest.mark.parametrize(
    "detail",
    ["[1, 2]", '"text"', "{not json", '{"big": 9223372036854775808}', "[" * 1001 + "]" * 1001,
     '{"a": ' * 1001 + "1" + "}" * 1001],
)
def test_a_malformed_detail_fails_that_entry_alone(endpoint, client, detail):
    response = client.put_events(EventBusArn=BUS, Entries=[{**ENTRY, "Detail": detail}, ENTRY])
    assert codes(response) == ["MalformedDetail", "PUBLISHED"]
    assert response["FailedEntryCount"] == 1
    assert len(endpoint.accepted_v2()) == 1


def test_deep_but_allowed_detail_and_int64_edges_are_published(client):
    deep = '{"a": ' * 999 + "1" + "}" * 999
    edges = '{"max": 9223372036854775807, "min": -9223372036854775808}'
    response = client.put_events(EventBusArn=BUS, Entries=[{**ENTRY, "Detail": deep},
                                                           {**ENTRY, "Detail": edges}])
    assert codes(response) == ["PUBLISHED", "PUBLISHED"]


# --- the wire ------------------------------------------------------------------------------------------------


def test_timestamps_round_trip_as_cbor_tag_1(endpoint, client):
    # GIVEN a Time in another zone with microseconds
    sent = dt.datetime(2026, 11, 20, 12, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    client.put_events(EventBusArn=BUS, Entries=[{**ENTRY, "Time": sent}])
    recorded = endpoint.accepted_v2()[0]["Time"]
    assert dt.datetime.fromtimestamp(recorded, dt.UTC) == sent
    # AND a Time that is not tag 1 (a bare number) is a serialization error, as for a Smithy server
    body = cbor2.dumps({"EventBusArn": BUS, "Entries": [{**ENTRY, "Time": 1795168800}]})
    status, _, answer = raw_post(endpoint, OPERATION_PATH, body)
    assert (status, answer["__type"].rsplit("#", 1)[1]) == (400, "SerializationException")
    body = cbor2.dumps({"EventBusArn": BUS, "Entries": [{**ENTRY, "Time": cbor2.CBORTag(1, 1795168800)}]})
    assert raw_post(endpoint, OPERATION_PATH, body)[0] == 200
    assert endpoint.accepted_v2()[1]["Time"] == 1795168800


def test_answers_are_cbor_with_the_protocol_header_and_namespaced_error_types(endpoint):
    body = cbor2.dumps({"EventBusArn": BUS, "Entries": [ENTRY]})
    status, headers, answer = raw_post(endpoint, OPERATION_PATH, body)
    assert (status, headers["content-type"], headers["smithy-protocol"]) == (200, "application/cbor",
                                                                             "rpc-v2-cbor")
    assert answer["Entries"][0]["SuccessCode"] == "PUBLISHED"
    status, headers, answer = raw_post(endpoint, OPERATION_PATH, b"\xff\x00")
    assert status == 400
    assert answer["__type"].endswith("#SerializationException")
    assert headers["x-amzn-errortype"] == "SerializationException"
    assert raw_post(endpoint, OPERATION_PATH, body, {"smithy-protocol": ""})[0] == 400
    assert raw_post(endpoint, "/service/AWSEventsV2/operation/ListEventBuses", body)[0] == 404
    assert len(endpoint.accepted_v2()) == 1


def test_control_routes_show_v2_entries_and_stats_over_http(endpoint, client):
    control(endpoint, "/_fault/config", {"dedup_window_seconds": 60})
    make_classic_client(endpoint).put_events(Entries=[OK_ENTRY])
    client.put_events(EventBusArn=BUS, Entries=[with_id("a"), with_id("b"), with_id("a")])
    assert control(endpoint, "/_fault/accepted")["count"] == 3
    later = control(endpoint, "/_fault/accepted_v2?since=1")
    assert later["count"] == 2
    assert [e["SystemMetadata"]["DeduplicationId"] for e in later["entries"]] == ["b"]
    assert control(endpoint, "/_fault/stats")["entries_deduplicated"] == 1
    with pytest.raises(urllib.error.HTTPError):
        control(endpoint, "/_fault/config", {"dedup_window_seconds": -5})
    control(endpoint, "/_fault/reset", {})
    assert codes(client.put_events(EventBusArn=BUS, Entries=[with_id("a")])) == ["PUBLISHED"]  # window gone
    assert control(endpoint, "/_fault/config")["dedup_window_seconds"] == 300


def test_runs_as_its_own_process_serving_both_apis():
    with EndpointProcess({"request_schedule": ["accepted_reset"]}) as remote:
        response = make_client(remote, attempts=2).put_events(EventBusArn=BUS, Entries=[with_id("p")])
        assert codes(response) == ["DEDUPLICATED"]
        assert make_classic_client(remote).put_events(Entries=[OK_ENTRY])["FailedEntryCount"] == 0
        assert control(remote, "/_fault/accepted")["count"] == 2
        assert control(remote, "/_fault/stats")["eventbridgev2"]["entries_deduplicated"] == 1
    assert remote.returncode == 0


def test_the_request_quota_is_shared_with_the_classic_api_and_refuses_v2_requests_as_v2_would():
    # 4 tokens, refilled one per 100 s: two classic and two v2 requests pass, then both APIs are refused.
    with FaultEndpoint(quota_requests_per_second=0.01, quota_burst_seconds=400) as endpoint:
        v2, classic = make_client(endpoint), make_classic_client(endpoint)
        sends = (
            lambda: classic.put_events(Entries=[OK_ENTRY]),
            lambda: v2.put_events(EventBusArn=BUS, Entries=[ENTRY]),
        )
        outcomes = []
        for send in sends * 3:
            try:
                send()
                outcomes.append("ok")
            except ClientError as error:
                outcomes.append((error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]))
        assert outcomes == ["ok"] * 4 + [("ThrottlingException", 400), ("ThrottlingException", 429)]
        assert endpoint.stats()["faults"]["quota:request"] == 2
