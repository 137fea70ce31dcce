"""More sources: SNS through SQS, KPL aggregates, DynamoDB Streams (the claim check: test_claim_check.py)."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator

from forwarder.records.event import parse_event
from forwarder_testing.events import SENT, kinesis_record, sqs_event
from forwarder_testing.local_aws import lambda_sqs_record, queue_arn
from tests.conftest import load_event

pytestmark = pytest.mark.integration



# -- SNS notifications through SQS ----------------------------------------------------------------


def test_sns_envelope_is_unwrapped(endpoint, cold_start, context):
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    event = load_event("sns-via-sqs.json")
    assert handler(event, context) == {"batchItemFailures": []}
    (accepted,) = endpoint.accepted()
    assert json.loads(accepted["Detail"]) == {"orderId": "o-2001", "status": "PLACED", "total": 12.5}
    assert accepted["Resources"] == ["arn:aws:sns:us-east-1:123456789012:orders-topic"]
    assert accepted["Time"] == 1763800200.123  # the notification's Timestamp, not the SQS SentTimestamp


def test_a_text_sns_message_is_wrapped_like_any_body():
    envelope = {
        "Type": "Notification",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
        "Message": "plain words",
        "Timestamp": "2025-11-22T08:30:00Z",
        "MessageId": "m",
    }
    _, (record,) = parse_event(sqs_event([json.dumps(envelope)]))
    assert record.body == "plain words" and record.resources == ("arn:aws:sns:us-east-1:123456789012:t",)


def test_a_body_that_only_looks_like_sns_is_left_alone():
    body = json.dumps({"Type": "Receipt", "TopicArn": "x", "Message": "m", "note": "Notification"})
    _, (record,) = parse_event(sqs_event([body]))
    assert record.body == body and record.resources == ()


TOPIC = "arn:aws:sns:us-east-1:123456789012:orders-topic"


def envelope(topic: str = TOPIC, timestamp: str = "2025-11-22T08:30:00.123Z", message: str = '{"orderId": "o-1"}'):
    return json.dumps({"Type": "Notification", "TopicArn": topic, "Message": message, "Timestamp": timestamp})


@pytest.mark.parametrize(
    ("topic", "timestamp"),
    [
        ("arn:aws:sns:us-east-1:123456789012:" + "t" * 3000, "2025-11-22T08:30:00Z"),  # over SNS's 256
        ("arn:aws:sns:us-east-1:123456789012:" + "t" * 257, "2025-11-22T08:30:00Z"),
        ("arn:aws:sqs:us-east-1:123456789012:orders", "2025-11-22T08:30:00Z"),  # not SNS
        ("arn:aws:sns:us-east-1:1234:orders", "2025-11-22T08:30:00Z"),  # not an account
        ("orders", "2025-11-22T08:30:00Z"),
        (TOPIC + "\n", "2025-11-22T08:30:00Z"),
        (TOPIC, "yesterday"),
        (TOPIC, "2025-11-22T08:30:00"),  # no offset: SNS always writes Z
        (TOPIC, "0001-01-01T00:00:00+14:00"),
    ],
)
def test_an_envelope_sns_could_not_have_written_is_forwarded_as_it_is(topic, timestamp):
    body = envelope(topic, timestamp)
    _, (record,) = parse_event(sqs_event([body]))
    assert (record.body, record.resources, record.time) == (body, (), SENT / 1000)


def test_sns_unwrapping_can_be_off_or_limited_to_listed_topics():
    event = sqs_event([envelope(), envelope("arn:aws:sns:us-east-1:123456789012:other")])
    assert [r.resources for r in parse_event(event)[1]] == [(TOPIC,), ("arn:aws:sns:us-east-1:123456789012:other",)]
    assert [r.resources for r in parse_event(event, sns_unwrap=False)[1]] == [(), ()]
    listed = parse_event(event, sns_unwrap=frozenset({TOPIC}))[1]
    assert [r.resources for r in listed] == [(TOPIC,), ()]
    assert json.loads(listed[0].body) == {"orderId": "o-1"} and listed[1].body == event["Records"][1]["body"]


def test_a_forged_envelope_with_a_huge_topic_arn_does_not_fail_its_neighbours(endpoint, cold_start, context):
    # GIVEN a plain SQS body shaped like an SNS notification whose TopicArn no SNS topic could have
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    forged = envelope("arn:aws:sns:us-east-1:123456789012:" + "t" * 3000)
    event = sqs_event([forged] + [json.dumps({"n": n}) for n in range(9)])
    # WHEN the batch is forwarded THEN nothing is refused: the forged body goes on as the body it is
    assert handler(event, context) == {"batchItemFailures": []}
    accepted = endpoint.accepted()
    assert len(accepted) == 10 and accepted[0]["Detail"] == forged and "Resources" not in accepted[0]


@pytest.mark.parametrize(
    ("setting", "unwrapped"), [("off", False), (TOPIC, True), ("arn:aws:sns:us-east-1:123456789012:x", False)]
)
def test_the_sns_unwrap_setting_decides_through_the_handler(endpoint, cold_start, context, setting, unwrapped):
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, SNS_UNWRAP=setting)
    event = load_event("sns-via-sqs.json")
    assert handler(event, context) == {"batchItemFailures": []}
    (accepted,) = endpoint.accepted()
    assert ("Resources" in accepted) == unwrapped
    assert (accepted["Detail"] == event["Records"][0]["body"]) == (not unwrapped)
    assert accepted["Time"] == (1763800200.123 if unwrapped else 1763800000)


def test_real_sns_to_sqs_delivery_through_moto(aws, clients, cold_start, context):
    # GIVEN a topic whose subscription (no raw delivery) feeds the queue, as moto's SNS delivers it
    sns, sqs = clients("sns"), clients("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    queue = sqs.create_queue(QueueName="from-sns")["QueueUrl"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(sqs, queue))
    sns.publish(TopicArn=topic, Message=json.dumps({"orderId": "o-9"}))
    messages = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
    event = {"Records": [lambda_sqs_record(m, queue_arn(sqs, queue)) for m in messages]}
    # WHEN the forwarder reads it
    _, (record,) = parse_event(event)
    # THEN the SNS message is the payload and the topic its resource
    assert json.loads(record.body) == {"orderId": "o-9"}
    assert record.resources == (topic,)


# -- KPL aggregation ------------------------------------------------------------------------------


def aggregate(bodies: list[bytes], sequence: int = 0) -> dict:
    aggregator = RecordAggregator()
    for n, body in enumerate(bodies):
        aggregator.add_user_record(f"pk-{n}", body)
    _, _, data = aggregator.clear_and_get().get_contents()
    record = kinesis_record(b"", sequence=sequence)
    record["kinesis"]["data"] = base64.b64encode(data).decode()
    return record


def test_kpl_aggregate_becomes_one_entry_per_user_record(endpoint, cold_start, context):
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    event = load_event("kinesis-kpl.json")
    assert handler(event, context) == {"batchItemFailures": []}
    assert sorted(d["n"] for d in endpoint.accepted_details()) == [1, 2, 3, 4]


def test_a_failed_user_record_reports_its_aggregate_and_others_are_sent_once(endpoint, cold_start, context):
    # GIVEN an aggregate of five user records, one of which EventBridge refuses for good
    endpoint.configure(detail_rules=[{"contains": "refuse-me", "code": "AccessDeniedException"}])
    bodies = [json.dumps({"n": n}).encode() for n in range(4)] + [b'{"refuse-me": true}']
    event = {"Records": [aggregate(bodies, sequence=0), kinesis_record(b'{"n": 10}', sequence=1)]}
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    # WHEN it is forwarded
    response = handler(event, context)
    # THEN the aggregate's sequence number is reported (Lambda resumes at whole records), once
    aggregate_sequence = event["Records"][0]["kinesis"]["sequenceNumber"]
    assert response == {"batchItemFailures": [{"itemIdentifier": aggregate_sequence}]}
    # AND the healthy user records reached the bus exactly once within the invocation
    assert sorted(d["n"] for d in endpoint.accepted_details()) == [0, 1, 2, 3, 10]


def test_a_corrupt_aggregate_is_forwarded_whole_as_base64():
    # The library hands back an aggregate whose checksum fails as one ordinary record: nothing is lost.
    data = b"\xf3\x89\x9a\xc2" + b"garbage that is not protobuf"
    _, (record,) = parse_event({"Records": [kinesis_record(data)]})
    assert record.problem is None and record.body == data and record.sub_sequence is None


# -- DynamoDB Streams -----------------------------------------------------------------------------


def test_dynamodb_images_become_plain_json(endpoint, cold_start, context):
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    event = load_event("dynamodb.json")
    assert handler(event, context) == {"batchItemFailures": []}
    insert, modify, remove = sorted(endpoint.accepted(), key=lambda e: e["Time"])
    assert json.loads(insert["Detail"]) == {
        "eventName": "INSERT",
        "keys": {"pk": "order#o-3001"},
        "newImage": {
            "pk": "order#o-3001",
            "status": "PLACED",
            "total": 59.9,
            "qty": 2,
            "tags": ["express", "gift"],
            "paid": False,
            "note": None,
            "lines": [{"sku": "BK-118", "qty": 2}],
            "checksum": "AAEC",
        },
    }
    assert set(json.loads(modify["Detail"])) == {"eventName", "keys", "newImage", "oldImage"}
    assert set(json.loads(remove["Detail"])) == {"eventName", "keys", "oldImage"}  # no image the view lacks
    assert insert["Time"] == 1763800000


def test_dynamodb_failures_are_reported_by_sequence_number(endpoint, cold_start, context):
    endpoint.configure(detail_rules=[{"contains": "MODIFY", "code": "AccessDeniedException"}])
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    response = handler(load_event("dynamodb.json"), context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "111100000000000000002"}]}


def test_dynamodb_numbers_beyond_int64_stay_exact():
    event = copy.deepcopy(load_event("dynamodb.json"))
    image = event["Records"][0]["dynamodb"]["NewImage"]
    image["big"] = {"N": "123456789012345678901234567890"}
    image["precise"] = {"N": "0.1000000000000000000000000001"}
    _, records = parse_event(event)
    new_image = json.loads(records[0].body)["newImage"]
    assert new_image["big"] == "123456789012345678901234567890"
    assert new_image["precise"] == "0.1000000000000000000000000001"
