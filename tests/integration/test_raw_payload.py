"""EVENT_PAYLOAD=raw: every source's payload on the Custom Event Bus through PutRawEvents, byte for byte,
through the fault endpoint's eventbridgev2 API (rpc-v2-cbor, checked against botocore's model)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter

import pytest

from forwarder.config.env_values import ConfigurationError
from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.events import fifo_event, kinesis_event, kinesis_record, reported, sqs_event, sqs_record
from forwarder_testing.fault_endpoint.v2_raw import raw_data
from forwarder_testing.lambda_context import LambdaContext
from tests.conftest import load_event

pytestmark = pytest.mark.integration
BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"

# Avro's binary encoding of {"id": 42, "name": "widget"} (zig-zag long, length-prefixed string): not UTF-8.
AVRO_LIKE = bytes([0x54, 0x0C]) + b"widget" + bytes([0xFF, 0xFE, 0x80])
# Protobuf's encoding of field 1 = 150 (varint), field 2 = "hi": text-looking bytes that are not JSON.
PROTOBUF_LIKE = bytes([0x08, 0x96, 0x01, 0x12, 0x02]) + b"hi"
CLOUD_EVENT = json.dumps({"specversion": "1.0", "type": "com.example.order.placed", "source": "/orders",
                          "id": "A234-1234-1234", "datacontenttype": "application/json", "data": {"n": 1}})
PLAIN_JSON = '{"orderId": "o-1", "total": 12.5}'
TEXT = "order o-1 placed, total 12.50 €"


@pytest.fixture
def raw_start(endpoint, cold_start):
    def start(**env: str):
        return cold_start(**{"AWS_ENDPOINT_URL": endpoint.url, "EVENT_BUS_NAME": BUS, "DEADLINE_MARGIN_MS": "500",
                             "EVENT_PAYLOAD": "raw", **env})

    return start


def on_bus(endpoint) -> list[tuple[bytes, str, dict]]:
    return [(raw_data(e), e["SystemMetadata"]["ContentType"], e.get("Metadata", {})) for e in endpoint.accepted_v2()]


def test_sqs_bodies_go_out_byte_for_byte_with_their_content_type(endpoint, raw_start, context):
    # GIVEN SQS bodies of every kind (SQS carries text: the binary ones arrive through Kinesis below)
    event = sqs_event([CLOUD_EVENT, PLAIN_JSON, TEXT, "42", " \ufeff{not json"])
    # WHEN they are forwarded in raw mode
    assert raw_start()(event, context) == {"batchItemFailures": []}
    # THEN each is Data as its producer wrote it, typed by what it is, through PutRawEvents alone
    assert on_bus(endpoint) == [
        (CLOUD_EVENT.encode(), "application/cloudevents+json", {}),
        (PLAIN_JSON.encode(), "application/json", {}),
        (TEXT.encode(), "application/octet-stream", {}),
        (b"42", "application/json", {}),
        (" \ufeff{not json".encode(), "application/octet-stream", {}),
    ]
    assert {e["Operation"] for e in endpoint.accepted_v2()} == {"PutRawEvents"}
    assert endpoint.stats()["eventbridgev2"]["raw_entries_received"] == 5


def test_kinesis_data_is_decoded_from_base64_and_sent_as_it_is(endpoint, raw_start, context):
    event = kinesis_event([AVRO_LIKE, PROTOBUF_LIKE, CLOUD_EVENT.encode(), TEXT.encode()])
    assert raw_start()(event, context) == {"batchItemFailures": []}
    assert on_bus(endpoint) == [
        (AVRO_LIKE, "application/octet-stream", {}),
        (PROTOBUF_LIKE, "application/octet-stream", {}),
        (CLOUD_EVENT.encode(), "application/cloudevents+json", {}),
        (TEXT.encode(), "application/octet-stream", {}),
    ]
    # The partition key is the event group, as in JSON mode; every entry has its deduplication id.
    assert {e["SystemMetadata"]["EventGroupId"] for e in endpoint.accepted_v2()} == {"key"}
    assert len({e["SystemMetadata"]["DeduplicationId"] for e in endpoint.accepted_v2()}) == 4


def test_sns_through_sqs_sends_the_message_with_its_attributes_as_metadata(endpoint, raw_start, context):
    event = load_event("sns-via-sqs.json")
    assert raw_start()(event, context) == {"batchItemFailures": []}
    message = json.loads(event["Records"][0]["body"])["Message"]
    assert on_bus(endpoint) == [(message.encode(), "application/json", {"tenant": "acme"})]


def test_dynamodb_changes_go_out_as_the_json_detail_would_hold(endpoint, raw_start, context):
    event = load_event("dynamodb.json")
    assert raw_start()(event, context) == {"batchItemFailures": []}
    sent = on_bus(endpoint)
    assert len(sent) == len(event["Records"])
    change = json.loads(sent[0][0])
    assert change["eventName"] == "INSERT" and change["newImage"]["pk"] == "order#o-3001"
    assert {content_type for _, content_type, _ in sent} == {"application/json"}


def test_message_attributes_become_metadata_and_what_does_not_fit_is_left_out(endpoint, raw_start, context):
    # GIVEN an SQS message with attributes the model takes and some it does not
    record = sqs_record(PLAIN_JSON)
    record["messageAttributes"] = {
        "tenant": {"dataType": "String", "stringValue": "acme"},
        "priority": {"dataType": "Number", "stringValue": "7"},
        "thumbnail": {"dataType": "Binary", "binaryValue": base64.b64encode(b"\x00\x01").decode()},
        "a/b": {"dataType": "String", "stringValue": "slash"},
        "k" * 129: {"dataType": "String", "stringValue": "long key"},
    }
    # WHEN it is forwarded
    assert raw_start()({"Records": [record]}, context) == {"batchItemFailures": []}
    # THEN the record goes out with what fits, never failing for what does not
    assert on_bus(endpoint) == [(PLAIN_JSON.encode(), "application/json", {"priority": "7", "tenant": "acme"})]


def test_raw_content_type_and_its_path_with_a_per_record_fallback(endpoint, raw_start, context):
    records = [sqs_record(TEXT), sqs_record(TEXT), sqs_record(TEXT)]
    records[0]["messageAttributes"] = {"contentType": {"dataType": "String", "stringValue": "application/avro"}}
    records[1]["messageAttributes"] = {"contentType": {"dataType": "String", "stringValue": "text/plain"}}
    handler = raw_start(RAW_CONTENT_TYPE="application/x-protobuf",
                        RAW_CONTENT_TYPE_PATH="messageAttributes.contentType.stringValue")
    assert handler({"Records": records}, context) == {"batchItemFailures": []}
    # The record's own where PutRawEvents takes it; else (text/plain is refused, none at all) RAW_CONTENT_TYPE.
    assert [content_type for _, content_type, _ in on_bus(endpoint)] == [
        "application/avro", "application/x-protobuf", "application/x-protobuf"]


def test_raw_metadata_builds_the_metadata_from_the_record_view(endpoint, raw_start, context):
    event = sqs_event([PLAIN_JSON, "not json"])
    handler = raw_start(RAW_METADATA="{order: body.orderId, total: body.total, queue: eventSourceARN}")
    assert handler(event, context) == {"batchItemFailures": []}
    queue = event["Records"][0]["eventSourceARN"]
    assert [metadata for _, _, metadata in on_bus(endpoint)] == [
        {"order": "o-1", "total": "12.5", "queue": queue},
        {"queue": queue},  # the nulls are left out
    ]


def test_the_schema_registry_is_named_on_every_request(endpoint, raw_start, context):
    registry = "arn:aws:glue:us-east-1:123456789012:registry/orders"
    assert raw_start(RAW_SCHEMA_REGISTRY_URI=registry)(kinesis_event([AVRO_LIKE]), context) == {
        "batchItemFailures": []}
    assert endpoint.accepted_v2()[0]["SchemaRegistryConfiguration"] == {"RegistryUri": registry}


def test_fifo_order_holds_and_a_redelivery_is_deduplicated(endpoint, raw_start, context):
    # GIVEN two FIFO groups, with the first sends of the endpoint throttled
    endpoint.configure(entry_schedule=["ThrottlingException", "ok", "ThrottlingException"])
    messages = [(g, f"{g}-{n}") for n in range(5) for g in ("a", "b")]
    handler = raw_start()
    event = fifo_event(messages)
    assert handler(event, context) == {"batchItemFailures": []}
    # WHEN the same batch is delivered again
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    # THEN each group is on the bus in its order, once
    for group in "ab":
        sent = [raw_data(e) for e in endpoint.accepted_v2() if e["SystemMetadata"]["EventGroupId"] == group]
        assert sent == [f"{group}-{n}".encode() for n in range(5)]
    assert endpoint.stats()["eventbridgev2"]["entries_deduplicated"] == 10


def test_lost_answers_leave_no_duplicates(endpoint, raw_start, context):
    endpoint.configure(request_schedule=["accepted_reset", "accepted_hang"], slow_ms=6000)
    event = kinesis_event([AVRO_LIKE + bytes([n]) for n in range(150)])
    assert raw_start()(event, context) == {"batchItemFailures": []}
    ids = Counter(e["SystemMetadata"]["DeduplicationId"] for e in endpoint.accepted_v2())
    assert len(ids) == 150 and max(ids.values()) == 1


def test_requests_hold_up_to_the_models_100_entries(endpoint, raw_start, context):
    assert raw_start()(sqs_event([f"m{n}" for n in range(250)]), context) == {"batchItemFailures": []}
    assert len(endpoint.accepted_v2()) == 250
    assert endpoint.stats()["eventbridgev2"]["requests"] == 3


def test_a_too_large_record_fails_alone(endpoint, raw_start, context):
    # GIVEN a Kinesis record whose Data alone is over the request limit (PUT_EVENTS_MAX_BYTES), beside a small one
    # of another partition key (one of its own would wait behind it: its order is kept)
    event = {"Records": [kinesis_record(b"x" * 5000, sequence=0),
                         kinesis_record(AVRO_LIKE, sequence=1, partition_key="other")]}
    response = raw_start(PUT_EVENTS_MAX_BYTES="4096")(event, context)
    # THEN it alone is reported, and the other goes on
    assert reported(response) == [event["Records"][0]["kinesis"]["sequenceNumber"]]
    assert on_bus(endpoint) == [(AVRO_LIKE, "application/octet-stream", {})]


def test_a_record_the_bus_refuses_is_reported_alone(endpoint, raw_start, context):
    endpoint.configure(detail_rules=[{"contains": "poison", "code": "AccessDeniedException"}])
    event = sqs_event(["fine", "poison pill", "also fine"])
    assert reported(raw_start()(event, context)) == [event["Records"][1]["messageId"]]
    assert [data for data, _, _ in on_bus(endpoint)] == [b"fine", b"also fine"]


@pytest.mark.parametrize(("env", "variable"), [
    ({"EVENT_BUS_NAME": "orders"}, "EVENT_PAYLOAD"),
    ({"EVENT_PAYLOAD": "binary"}, "EVENT_PAYLOAD"),
    ({"EVENT_DETAIL": "body.order"}, "EVENT_DETAIL"),
    ({"RAW_CONTENT_TYPE": "text/plain"}, "RAW_CONTENT_TYPE"),
    ({"RAW_CONTENT_TYPE_PATH": "body.("}, "RAW_CONTENT_TYPE_PATH"),
    ({"RAW_SCHEMA_REGISTRY_URI": "http://registry.example.com"}, "RAW_SCHEMA_REGISTRY_URI"),
    ({"EVENT_PAYLOAD": "json", "RAW_METADATA": "{a: body}"}, "RAW_METADATA"),
])
def test_a_refused_setting_fails_the_cold_start_naming_it(endpoint, raw_start, env, variable):
    with pytest.raises(ConfigurationError, match=variable):
        raw_start(**env)


def test_a_too_large_record_is_claim_checked_with_its_content_type(endpoint, aws, clients, cold_start, context):
    # GIVEN a claim check bucket (moto S3) and a binary Kinesis record over the request limit
    s3 = clients("s3")
    s3.create_bucket(Bucket="large-payloads")
    big = AVRO_LIKE * 1000
    handler = cold_start(AWS_ENDPOINT_URL=aws, AWS_ENDPOINT_URL_EVENTBRIDGEV2=endpoint.url, EVENT_BUS_NAME=BUS,
                         EVENT_PAYLOAD="raw", LARGE_PAYLOAD_BUCKET="large-payloads", PUT_EVENTS_MAX_BYTES="4096",
                         RAW_CONTENT_TYPE="application/avro")
    # WHEN it is forwarded beside a small one
    event = {"Records": [kinesis_record(big, sequence=0), kinesis_record(AVRO_LIKE, sequence=1)]}
    assert handler(event, context) == {"batchItemFailures": []}
    # THEN the bus holds a reference, typed as one, in the record's place and order; S3 holds the bytes
    (reference, small) = on_bus(endpoint)
    digest = hashlib.sha256(big).hexdigest()
    assert reference == (json.dumps({"dataref": {"bucket": "large-payloads", "key": f"{digest}.bin",
                                                 "size": len(big), "sha256": digest,
                                                 "contentType": "application/avro"}},
                                    separators=(",", ":")).encode(),
                         "application/vnd.forwarder.dataref+json", {})
    assert small == (AVRO_LIKE, "application/avro", {})
    stored = s3.get_object(Bucket="large-payloads", Key=f"{digest}.bin")
    assert stored["Body"].read() == big and stored["ContentType"] == "application/avro"


@pytest.mark.parametrize("source", ["aws:sqs", "aws:kinesis", "aws:dynamodb"])
def test_every_hostile_record_is_sent_as_it_is_or_reported_alone(raw_start, context, caplog, source):
    # GIVEN test_hostile.py's table of hostile records, a batch per source, the old 256 KiB request limit
    from tests.integration.test_hostile import LIMIT, RECORD_CASES, Reported, item_id

    cases = [case for case in RECORD_CASES if case[1].get("eventSource") == source]
    with FaultEndpoint(max_entries_bytes=LIMIT - 1) as endpoint:
        handler = raw_start(AWS_ENDPOINT_URL=endpoint.url, PUT_EVENTS_MAX_BYTES=str(LIMIT))
        # WHEN they are forwarded in raw mode
        response = handler({"Records": [case[1] for case in cases]}, context)
        sent = {e["SystemMetadata"]["DeduplicationId"]: raw_data(e) for e in endpoint.accepted_v2()}
    # THEN a record JSON mode reports for what it is (unreadable data, a DynamoDB image) is reported here too,
    # and so is one too large once its system metadata is counted; every other one is on the bus as it came
    unreadable = {item_id(c[1]) for c in cases if isinstance(c[2], Reported) and c[2].code == "InvalidRecord"}
    too_large = {item_id(c[1]) for c in cases if len(c[1].get("body") or "") > LIMIT - 200}
    assert {item["itemIdentifier"] for item in response["batchItemFailures"]} == unreadable | too_large
    assert len(sent) == len(cases) - len(unreadable | too_large)
    for _, record, _ in cases:
        if item_id(record) in unreadable | too_large:
            continue
        if source == "aws:sqs":
            assert (record.get("body") or "").encode("utf-8", "surrogatepass") in sent.values()
        elif source == "aws:kinesis":
            assert base64.b64decode(record["kinesis"]["data"]) in sent.values()
    if source == "aws:dynamodb":
        assert all(json.loads(data)["eventName"] == "INSERT" for data in sent.values())
