"""Lambda events -> SourceRecords, and clear errors for events that are not a batch we read."""

from __future__ import annotations

import base64

import pytest

from forwarder.records import EventError, parse_event
from tests.support.events import fifo_event, kinesis_event, kinesis_record, sqs_event, sqs_record


def test_sqs_record_fields():
    event = sqs_event(['{"a": 1}'], trace="Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    source, (record,) = parse_event(event)
    raw = event["Records"][0]
    assert source == "aws:sqs"
    assert record.item_id == raw["messageId"]
    assert record.body == '{"a": 1}'
    assert record.time == int(raw["attributes"]["SentTimestamp"]) / 1000
    assert record.trace_header.startswith("Root=1-5759e988")
    assert record.group is None
    assert record.raw is raw


@pytest.mark.parametrize("attributes", ["missing", None, "text"])
def test_an_sqs_record_without_attributes_is_still_read(attributes):
    raw = sqs_record('{"a": 1}', trace="Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    if attributes == "missing":
        del raw["attributes"]
    else:
        raw["attributes"] = attributes
    _, (record,) = parse_event({"Records": [raw]})
    assert (record.item_id, record.body, record.time, record.trace_header) == (raw["messageId"], '{"a": 1}', None, None)
    assert record.raw is raw  # quarantined exactly as received


def test_fifo_records_carry_their_group():
    _, records = parse_event(fifo_event([("g1", "{}"), ("g2", "{}")]))
    assert [r.group for r in records] == ["g1", "g2"]


def test_a_group_id_on_a_standard_queue_does_not_order():
    # Fair queues put MessageGroupId on standard queues; they promise no order, so none is imposed.
    _, (record,) = parse_event({"Records": [sqs_record("{}", group="tenant-1")]})
    assert record.group is None


def test_kinesis_records():
    source, records = parse_event(kinesis_event([b'{"a": 1}', b"\x80\x81"]))
    assert source == "aws:kinesis"
    assert records[0].body == '{"a": 1}'
    assert records[0].time == pytest.approx(1763800000.123)
    assert records[1].body == b"\x80\x81"
    assert records[0].item_id.isdigit() and records[0].item_id != records[1].item_id


def test_kinesis_data_that_is_not_base64_is_a_record_problem():
    raw = kinesis_record(b"x")
    raw["kinesis"]["data"] = "not base64!"
    _, (record,) = parse_event({"Records": [raw]})
    assert record.problem == "kinesis data is not valid base64"


def test_empty_batch():
    assert parse_event({"Records": []}) == ("", [])


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "no 'Records' list"),
        ([], "no 'Records' list"),
        ({"records": []}, "no 'Records' list"),
        ({"Records": "x"}, "no 'Records' list"),
        ({"Records": [{"eventSource": "aws:s3"}]}, "unsupported eventSource 'aws:s3'"),
        ({"Records": ["text"]}, "unsupported eventSource None"),
        (
            {"Records": [sqs_record("{}"), kinesis_record(b"{}")]},
            r"mixes event sources \['aws:kinesis', 'aws:sqs'\]",
        ),
        ({"Records": [{**sqs_record("{}"), "messageId": ""}]}, "record 0 has no messageId"),
        ({"Records": [{"eventSource": "aws:kinesis"}]}, "record 0 has no 'kinesis' object"),
    ],
)
def test_events_that_are_not_a_batch_say_why(event, message):
    with pytest.raises(EventError, match=message):
        parse_event(event)


def test_kinesis_without_sequence_number():
    raw = kinesis_record(base64.b64decode("e30="))
    del raw["kinesis"]["sequenceNumber"]
    with pytest.raises(EventError, match="record 0 has no sequenceNumber"):
        parse_event({"Records": [raw]})
