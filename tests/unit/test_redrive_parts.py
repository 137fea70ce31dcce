"""The redrive's pure parts: telling parked messages apart, the move's request, the pacing."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forwarder.redrive.parked import Quarantined, StreamRange, Unrecognised, parse_parked
from forwarder.redrive.requeue import NotMovable, redrive_deduplication_id, send_message_params
from forwarder.redrive.run import Pacer
from forwarder_testing.events import kinesis_record, sqs_record


def test_a_quarantine_message_is_told_from_an_on_failure_record():
    record = sqs_record('{"a": 1}')
    assert parse_parked(json.dumps({"record": record, "errorCode": "X", "errorMessage": "m"})) == Quarantined(
        record, "X", "m"
    )
    info = {"shardId": "s", "startSequenceNumber": "1", "endSequenceNumber": "9", "batchSize": 4,
            "streamArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/s"}
    parked = parse_parked(json.dumps({"KinesisBatchInfo": info}))
    assert parked == StreamRange("KinesisBatchInfo", info["streamArn"], "s", "1", "9", 4)
    assert parked.region == "eu-west-1"


@pytest.mark.parametrize("body", ["", "[]", "hello", '{"KinesisBatchInfo": {"shardId": "s"}}', '{"record": 1}',
                                  '{"DDBStreamBatchInfo": {"shardId": "s", "startSequenceNumber": "x", '
                                  '"endSequenceNumber": "1", "streamArn": "arn:aws:dynamodb:r:1:table/t/stream/x"}}'])
def test_anything_else_is_unrecognised(body):
    assert isinstance(parse_parked(body), Unrecognised)


@given(st.text())
def test_reading_a_parked_message_never_raises(body):
    parse_parked(body)


def test_the_redrive_deduplication_id_is_stable_and_not_the_originals():
    record = sqs_record('{"a": 1}', queue="q.fifo", group="g", message_id="m-1")
    first = send_message_params(record, "https://sqs/q.fifo")
    again = send_message_params(json.loads(json.dumps(record)), "https://sqs/q.fifo")
    assert first["MessageDeduplicationId"] == again["MessageDeduplicationId"] == redrive_deduplication_id("m-1")
    assert first["MessageDeduplicationId"] != record["attributes"]["MessageDeduplicationId"]
    assert first["MessageGroupId"] == "g"
    assert "MessageDeduplicationId" not in send_message_params(record, "https://sqs/q")


def test_a_kinesis_record_is_not_movable():
    with pytest.raises(NotMovable):
        send_message_params(kinesis_record(b"{}"), "https://sqs/q")


def test_the_pacer_spaces_records_by_the_rate_on_its_clock():
    now = [0.0]
    waited: list[float] = []

    class Stop(threading.Event):
        def wait(self, timeout=None):
            waited.append(timeout)
            now[0] += timeout
            return False

    pacer = Pacer(10, Stop(), clock=lambda: now[0])
    for _ in range(3):
        pacer.take(10)
    assert waited == [1.0, 1.0]
