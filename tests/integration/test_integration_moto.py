"""The handler end to end against moto server over HTTP: records on the bus, failures reported."""

from __future__ import annotations

import json

import pytest

from forwarder_testing.events import fifo_event, kinesis_event, sqs_event
from forwarder_testing.local_aws import drain, tap_bus

pytestmark = pytest.mark.integration


def test_sqs_batch_reaches_the_bus(aws, clients, cold_start, context):
    # GIVEN a bus with a rule that copies everything to a queue
    tap = tap_bus(clients, "orders", "test.forwarder")
    handler = cold_start(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="orders")
    bodies = [json.dumps({"order": i}) for i in range(25)] + ["plain text"]
    # WHEN a batch goes through the handler
    response = handler(sqs_event(bodies), context)
    # THEN every record is confirmed and on the bus, with its Detail
    assert response == {"batchItemFailures": []}
    details = sorted(json.dumps(json.loads(m["Body"])["detail"]) for m in drain(clients("sqs"), tap))
    expected = sorted([json.dumps({"order": i}) for i in range(25)] + [json.dumps({"data": "plain text"})])
    assert details == expected


def test_kinesis_batch_reaches_the_bus(aws, clients, cold_start, context):
    tap = tap_bus(clients, "stream-bus", "test.forwarder")
    handler = cold_start(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="stream-bus")
    response = handler(kinesis_event([b'{"a": 1}', b"\xff\xfe"]), context)
    assert response == {"batchItemFailures": []}
    details = [json.loads(m["Body"])["detail"] for m in drain(clients("sqs"), tap)]
    assert sorted(details, key=json.dumps) == sorted([{"a": 1}, {"dataBase64": "//4="}], key=json.dumps)


def test_missing_bus_reports_every_record(aws, cold_start, context):
    # moto answers per entry for an unknown bus; nothing may be confirmed
    handler = cold_start(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="no-such-bus")
    event = sqs_event(['{"x": 1}', '{"x": 2}'])
    response = handler(event, context)
    ids = [r["messageId"] for r in event["Records"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}


def test_fifo_batch_keeps_group_order_on_the_bus(aws, clients, cold_start, context):
    tap = tap_bus(clients, "fifo-bus", "test.forwarder")
    handler = cold_start(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="fifo-bus")
    messages = [("a", json.dumps({"g": "a", "n": n})) for n in range(3)]
    messages += [("b", json.dumps({"g": "b", "n": n})) for n in range(3)]
    response = handler(fifo_event(messages), context)
    assert response == {"batchItemFailures": []}
    details = [json.loads(m["Body"])["detail"] for m in drain(clients("sqs"), tap)]
    for group in "ab":
        assert [d["n"] for d in details if d["g"] == group] == [0, 1, 2]
