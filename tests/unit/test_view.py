"""The record view every expression is evaluated over: one per source kind, as docs/records.md shows them."""

from __future__ import annotations

import base64
import json
import math

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from forwarder.records.event import parse_event
from forwarder.records.view import payload, record_view
from forwarder_testing.events import fifo_event, kinesis_event, sqs_event, sqs_record
from tests.conftest import load_event

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


def views(event: dict) -> list[dict]:
    return [record_view(record) for record in parse_event(event)[1]]


def test_sqs_view_is_the_record_with_its_body_parsed_and_its_message_attributes():
    raw = sqs_record('{"id": "o-1", "total": 3}')
    raw["messageAttributes"] = {"type": {"stringValue": "OrderPlaced", "dataType": "String"}}
    (view,) = views({"Records": [raw]})
    assert view["body"] == {"id": "o-1", "total": 3}
    assert view["messageAttributes"]["type"]["stringValue"] == "OrderPlaced"
    assert view["messageId"] == raw["messageId"] and view["eventSourceARN"] == raw["eventSourceARN"]
    assert view["attributes"]["SentTimestamp"] == raw["attributes"]["SentTimestamp"]
    assert raw["body"] == '{"id": "o-1", "total": 3}'  # the delivered record is not changed


def test_sqs_fifo_view_has_the_message_group():
    (first, _) = views(fifo_event([("g-1", '{"n": 1}'), ("g-1", "plain")]))
    assert first["attributes"]["MessageGroupId"] == "g-1" and first["body"] == {"n": 1}


def test_sns_through_sqs_view_has_the_message_as_body_and_the_envelope_beside_it():
    (view,) = views(load_event("sns-via-sqs.json"))
    assert view["body"] == {"orderId": "o-2001", "status": "PLACED", "total": 12.5}
    assert view["sns"]["MessageAttributes"]["tenant"]["Value"] == "acme"
    assert view["sns"]["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:orders-topic"
    assert view["sns"]["Subject"] == "OrderPlaced" and "Message" not in view["sns"]


def test_sns_unwrap_off_leaves_the_envelope_as_the_body():
    event = load_event("sns-via-sqs.json")
    (record,) = parse_event(event, sns_unwrap=False)[1]
    view = record_view(record)
    assert view["body"]["Type"] == "Notification" and "sns" not in view


def test_kinesis_view_has_the_data_decoded_and_parsed_in_body():
    (text, binary) = views(kinesis_event([b'{"a": 1}', b"\xff\xfe"]))
    assert text["body"] == {"a": 1} and "data" not in text["kinesis"]
    assert text["kinesis"]["partitionKey"] == "key" and text["eventSourceARN"].endswith("stream/source-stream")
    assert binary["body"] == base64.b64encode(b"\xff\xfe").decode()


def test_kpl_user_record_view_has_its_own_data_partition_key_and_position():
    users = views(load_event("kinesis-kpl.json"))
    assert [v["body"] for v in users] == [
        {"type": "click", "n": 1}, {"type": "click", "n": 2}, {"type": "scroll", "n": 3}, {"type": "click", "n": 4}
    ]
    assert [v["kinesis"]["partitionKey"] for v in users] == ["u-1", "u-2", "u-3", "u-4"]
    assert [v["kinesis"].get("subSequenceNumber") for v in users] == [0, 1, 2, None]
    assert users[0]["kinesis"]["sequenceNumber"] == users[2]["kinesis"]["sequenceNumber"]  # the aggregate's


def test_dynamodb_view_has_the_change_as_plain_json_in_body():
    (view, *_) = views(load_event("dynamodb.json"))
    assert view["body"]["eventName"] == "INSERT"
    assert view["body"]["keys"] == {"pk": "order#o-3001"}
    assert view["body"]["newImage"]["total"] == 59.9 and view["body"]["newImage"]["qty"] == 2
    assert view["dynamodb"]["SequenceNumber"] == "111100000000000000001"  # the record as delivered, beside it


@hypothesis_settings(deadline=None)
@given(value=JSON_VALUES)
def test_any_json_body_is_parsed_in_the_view_of_every_source(value):
    text = json.dumps(value)
    for event in (sqs_event([text]), kinesis_event([text.encode()])):
        (view,) = views(event)
        assert view["body"] == value


@hypothesis_settings(deadline=None)
@given(body=st.text(max_size=50))
def test_any_body_that_is_not_json_stays_text(body):
    try:
        json.loads(body)
    except ValueError:
        assert payload(body) == body
        (view,) = views(sqs_event([body]))
        assert view["body"] == body


def test_json_eventbridge_refuses_is_still_read_as_json():
    """What EventBridge refuses in a Detail is decided per record, later: the view reads what JSON can."""
    assert math.isnan(payload("NaN"))
    assert payload('{"a": 1e999}') == {"a": math.inf}
    assert payload('{"n": 18446744073709551615}') == {"n": 2**64 - 1}  # a uint64 id
    assert payload('{"n": ' + "9" * 5000 + "}") == {"n": math.inf}  # past Python's 4,300 digits: as JavaScript
    assert payload("\ufeff[1]") == [1] and payload(None) is None


@hypothesis_settings(deadline=None)
@given(message=JSON_VALUES, tenant=st.text(max_size=20))
def test_any_sns_message_is_the_body_and_its_attributes_are_in_sns(message, tenant):
    envelope = json.loads(load_event("sns-via-sqs.json")["Records"][0]["body"])
    envelope["Message"] = json.dumps(message)
    envelope["MessageAttributes"] = {"tenant": {"Type": "String", "Value": tenant}}
    (view,) = views(sqs_event([json.dumps(envelope)]))
    assert view["body"] == message
    assert view["sns"]["MessageAttributes"]["tenant"]["Value"] == tenant


@hypothesis_settings(deadline=None)
@given(users=st.lists(st.tuples(st.text(min_size=1, max_size=8), JSON_VALUES), min_size=1, max_size=5))
def test_every_kpl_user_record_has_its_own_body_and_partition_key_in_the_view(users):
    from aws_kinesis_agg.aggregator import RecordAggregator

    aggregator = RecordAggregator()
    for key, value in users:
        aggregator.add_user_record(key, json.dumps(value).encode())
    _, _, data = aggregator.clear_and_get().get_contents()
    found = views(kinesis_event([data]))
    assert [(v["kinesis"]["partitionKey"], v["body"]) for v in found] == users
    assert [v["kinesis"]["subSequenceNumber"] for v in found] == list(range(len(users)))


PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=4), children,
                                                                         max_size=3),
    max_leaves=8,
)


@hypothesis_settings(deadline=None)
@given(item=st.dictionaries(st.text(min_size=1, max_size=5), PLAIN, max_size=4))
def test_any_dynamodb_image_is_plain_json_in_the_view(item):
    from boto3.dynamodb.types import TypeSerializer

    serialize = TypeSerializer().serialize
    event = load_event("dynamodb.json")
    raw = event["Records"][0]
    raw["dynamodb"]["NewImage"] = {name: serialize(value) for name, value in item.items()}
    (view,) = views({"Records": [raw]})
    assert view["body"]["newImage"] == item
    assert view["dynamodb"]["NewImage"] == raw["dynamodb"]["NewImage"]  # the record as delivered, beside it
