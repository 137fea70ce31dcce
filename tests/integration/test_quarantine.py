"""Poison records go to the quarantine queue over real HTTP (moto), and are then not reported."""

from __future__ import annotations

import json

import pytest

from forwarder_testing.events import kinesis_event, sqs_event
from forwarder_testing.local_aws import drain

pytestmark = pytest.mark.integration


def test_poison_records_are_quarantined_not_reported(aws, clients, cold_start, context):
    sqs = clients("sqs")
    clients("events").create_event_bus(Name="bus")
    poison_url = sqs.create_queue(QueueName="poison")["QueueUrl"]
    handler = cold_start(
        AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="bus", POISON_QUEUE_URL=poison_url, PUT_EVENTS_MAX_BYTES="4096"
    )
    event = sqs_event(['{"ok": 1}', "x" * 5000, '{"ok": 2}'])
    response = handler(event, context)
    assert response == {"batchItemFailures": []}
    (message,) = drain(sqs, poison_url)
    quarantined = json.loads(message["Body"])
    assert quarantined["record"] == event["Records"][1]  # the Lambda record exactly as received
    assert quarantined["errorCode"] == "EntryTooLarge"
    assert "bytes" in quarantined["errorMessage"]


def test_unreadable_kinesis_data_is_quarantined(aws, clients, cold_start, context):
    sqs = clients("sqs")
    poison_url = sqs.create_queue(QueueName="poison.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    handler = cold_start(AWS_ENDPOINT_URL=aws, POISON_QUEUE_URL=poison_url)
    event = kinesis_event([b"{}"])
    event["Records"][0]["kinesis"]["data"] = "%%%"
    assert handler(event, context) == {"batchItemFailures": []}
    (message,) = drain(sqs, poison_url)
    assert json.loads(message["Body"])["errorCode"] == "InvalidRecord"


def test_when_the_quarantine_send_fails_the_record_is_reported(aws, cold_start, context):
    url = f"{aws}/123456789012/no-such-queue"
    handler = cold_start(AWS_ENDPOINT_URL=aws, POISON_QUEUE_URL=url, PUT_EVENTS_MAX_BYTES="4096")
    event = sqs_event(["x" * 5000])
    response = handler(event, context)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
