"""The fault endpoint's PutRawEvents (rpc-v2-cbor), driven by a real botocore eventbridgev2 client: checked
against the model, under the same faults and deduplication window as PutEvents."""

from __future__ import annotations

import cbor2
import pytest
from botocore.exceptions import ClientError

from forwarder_testing.fault_endpoint.v2_raw import RAW_OPERATION_PATH, raw_data
from tests.integration.test_fault_endpoint_v2 import BUS, codes, make_client, raw_post, with_id

pytestmark = pytest.mark.integration

JSON_TYPE = {"ContentType": "application/json"}


def raw(data: bytes, dedup_id: str | None = None, **fields) -> dict:
    system = {**JSON_TYPE, **({"DeduplicationId": dedup_id} if dedup_id else {})}
    return {"Data": data, "SystemMetadata": system, **fields}


@pytest.fixture
def client(endpoint):
    return make_client(endpoint)


def test_raw_entries_are_recorded_with_their_bytes_metadata_and_registry(endpoint, client):
    registry = {"RegistryUri": "arn:aws:glue:us-east-1:123456789012:registry/orders"}
    response = client.put_raw_events(EventBusArn=BUS, SchemaRegistryConfiguration=registry, Entries=[
        raw(b"\x00\xffavro", "d-1", Metadata={"tenant": "acme"}), raw(b'{"a": 1}')])
    assert codes(response) == ["PUBLISHED", "PUBLISHED"] and response["FailedEntryCount"] == 0
    first, second = endpoint.accepted_v2()
    assert raw_data(first) == b"\x00\xffavro" and first["Metadata"] == {"tenant": "acme"}
    assert first["SystemMetadata"] == {"ContentType": "application/json", "DeduplicationId": "d-1"}
    assert first["SchemaRegistryConfiguration"] == registry and first["Operation"] == "PutRawEvents"
    assert raw_data(second) == b'{"a": 1}' and "Metadata" not in second
    assert endpoint.stats()["eventbridgev2"]["raw_entries_received"] == 2


@pytest.mark.parametrize(("entry", "error"), [
    (raw(b"x", SystemMetadata={"ContentType": "text/plain"}), "InvalidInputException"),
    (raw(b"x", Metadata={"a/b": "v"}), "InvalidInputException"),
    (raw(b"x", Metadata={"k" * 129: "v"}), "InvalidInputException"),
    (raw(b"x", Metadata={"a": ""}), "InvalidInputException"),
    (raw(b"x", Metadata={f"k{n}": "v" for n in range(101)}), "InvalidInputException"),
    ({"Data": b"x"}, "InvalidInputException"),
    ({"Data": b"x", "SystemMetadata": {}}, "InvalidInputException"),
    (raw("text, not a byte string"), "SerializationException"),
    (raw(b"x", SystemMetadata={"ContentType": "application/json", "DeduplicationId": "   "}), "InvalidInputException"),
])
def test_what_the_model_refuses_fails_the_request(endpoint, entry, error):
    # Sent by hand: botocore's own validation would stop most of these before the wire.
    body = cbor2.dumps({"EventBusArn": BUS, "Entries": [entry]})
    status, headers, answer = raw_post(endpoint, RAW_OPERATION_PATH, body)
    assert (status, headers["x-amzn-errortype"]) == (400, error)
    assert endpoint.accepted_v2() == []


def test_request_level_rules_of_the_model(endpoint):
    too_many = cbor2.dumps({"EventBusArn": BUS, "Entries": [raw(b"x")] * 101})
    assert raw_post(endpoint, RAW_OPERATION_PATH, too_many)[0] == 400
    bad_registry = cbor2.dumps({"EventBusArn": BUS, "Entries": [raw(b"x")],
                                "SchemaRegistryConfiguration": {"RegistryUri": "http://insecure.example.com"}})
    assert raw_post(endpoint, RAW_OPERATION_PATH, bad_registry)[1]["x-amzn-errortype"] == "InvalidInputException"
    bad_bus = cbor2.dumps({"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/classic",
                           "Entries": [raw(b"x")]})
    assert raw_post(endpoint, RAW_OPERATION_PATH, bad_bus)[1]["x-amzn-errortype"] == "InvalidInputException"


def test_the_total_size_counts_every_byte(endpoint, client):
    endpoint.configure(max_entries_bytes=1000)
    with pytest.raises(ClientError) as refused:
        client.put_raw_events(EventBusArn=BUS, Entries=[raw(b"x" * 990, Metadata={"tenant": "acme"})])
    assert refused.value.response["Error"]["Code"] == "InvalidInputException"
    assert codes(client.put_raw_events(EventBusArn=BUS, Entries=[raw(b"x" * 900)])) == ["PUBLISHED"]


def test_one_window_for_both_apis_and_content_based_deduplication(endpoint, client):
    # GIVEN an id first sent through PutEvents
    assert codes(client.put_events(EventBusArn=BUS, Entries=[with_id("shared")])) == ["PUBLISHED"]
    # THEN the same id through PutRawEvents is a duplicate, as is the same content under CONTENT_BASED
    assert codes(client.put_raw_events(EventBusArn=BUS, Entries=[raw(b"x", "shared")])) == ["DEDUPLICATED"]
    content = {"DeduplicationConfiguration": {"DeduplicationType": "CONTENT_BASED"}}
    first = client.put_raw_events(EventBusArn=BUS, Entries=[raw(b"same"), raw(b"other")], **content)
    again = client.put_raw_events(EventBusArn=BUS, Entries=[raw(b"same")], **content)
    assert codes(first) == ["PUBLISHED", "PUBLISHED"] and codes(again) == ["DEDUPLICATED"]
    assert again["Entries"][0]["EventId"] == first["Entries"][0]["EventId"]
    # Without the configuration, no id: never deduplicated.
    assert codes(client.put_raw_events(EventBusArn=BUS, Entries=[raw(b"same")])) == ["PUBLISHED"]


def test_the_same_faults_as_put_events(endpoint, client):
    endpoint.configure(request_schedule=["throttle"], entry_schedule=["ok", "InternalException"],
                       detail_rules=[{"contains": "poison", "code": "AccessDeniedException"}])
    with pytest.raises(ClientError) as throttled:
        client.put_raw_events(EventBusArn=BUS, Entries=[raw(b"x")])
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    response = client.put_raw_events(EventBusArn=BUS, Entries=[raw(b"a"), raw(b"b"), raw(b"poison \xff")])
    assert codes(response) == ["PUBLISHED", "InternalException", "AccessDeniedException"]
    assert response["FailedEntryCount"] == 2


def test_another_operation_is_unknown(endpoint):
    status, headers, _ = raw_post(endpoint, "/service/AWSEventsV2/operation/PutNothing", cbor2.dumps({}))
    assert (status, headers["x-amzn-errortype"]) == (404, "UnknownOperationException")
