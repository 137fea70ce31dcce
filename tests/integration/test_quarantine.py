"""Poison records go to the quarantine queue over real HTTP (moto), and are then not reported.

Every test runs at the default limits (PutEvents' 1 MiB request, SQS's 1 MiB message): a record too large for a
quarantine message is stored in the claim check's bucket when there is one, else left out with its size and
digest, and the message still fits.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from forwarder_testing.events import kinesis_event, sqs_event
from forwarder_testing.local_aws import drain

pytestmark = pytest.mark.integration


SQS_MAX_BODY = 1024 * 1024  # the largest SQS message, and so the largest SQS record body
DOUBLED = "{a: body, b: body}"  # a Detail twice the body: a body of 600 KB makes an entry too large for PutEvents


def test_poison_records_are_quarantined_not_reported(aws, clients, cold_start, context):
    sqs = clients("sqs")
    clients("events").create_event_bus(Name="bus")
    poison_url = sqs.create_queue(QueueName="poison")["QueueUrl"]
    handler = cold_start(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="bus", POISON_QUEUE_URL=poison_url, EVENT_DETAIL=DOUBLED)
    event = sqs_event(['{"ok": 1}', json.dumps({"blob": "x" * 600_000}), '{"ok": 2}'])
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


def test_a_record_too_large_for_a_message_is_quarantined_without_its_payload_when_there_is_no_bucket(
    aws, clients, cold_start, context
):
    # GIVEN an SQS record of SQS's largest body, too large for PutEvents, and no claim-check bucket
    sqs = clients("sqs")
    clients("events").create_event_bus(Name="bus")
    poison_url = sqs.create_queue(QueueName="poison")["QueueUrl"]
    handler = cold_start(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="bus", POISON_QUEUE_URL=poison_url)
    event = sqs_event(['{"ok": 1}', "x" * SQS_MAX_BODY])
    # WHEN it is forwarded
    assert handler(event, context) == {"batchItemFailures": []}
    # THEN it is quarantined, the message naming it, why, and its size and digest in place of the record
    (message,) = drain(sqs, poison_url)
    quarantined = json.loads(message["Body"])
    record_json = json.dumps(event["Records"][1]).encode()
    assert quarantined["recordOmitted"] == {"size": len(record_json), "sha256": hashlib.sha256(record_json).hexdigest()}
    assert quarantined["itemId"] == event["Records"][1]["messageId"]
    assert quarantined["eventSourceARN"] == event["Records"][1]["eventSourceARN"]
    assert quarantined["errorCode"] == "EntryTooLarge"


def test_a_record_too_large_for_a_message_is_stored_in_the_claim_check_bucket(aws, clients, cold_start, context):
    # GIVEN a record of SQS's largest body that EVENT_DETAIL fails on (NaN: EventBridge refuses it), and a bucket
    sqs, s3 = clients("sqs"), clients("s3")
    clients("events").create_event_bus(Name="bus")
    s3.create_bucket(Bucket="payloads")
    poison_url = sqs.create_queue(QueueName="poison.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    handler = cold_start(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="bus", POISON_QUEUE_URL=poison_url,
                         LARGE_PAYLOAD_BUCKET="payloads", EVENT_DETAIL="{n: body.n}")
    body = '{"n": NaN, "pad": "' + "x" * (SQS_MAX_BODY - 30) + '"}'
    event = sqs_event([body, '{"n": 1}'])
    # WHEN it is forwarded
    assert handler(event, context) == {"batchItemFailures": []}
    # THEN the message points at the record, stored whole in the bucket
    (message,) = drain(sqs, poison_url)
    quarantined = json.loads(message["Body"])
    assert quarantined["errorCode"] == "ShapingFailed"
    reference = quarantined["recordRef"]
    stored = s3.get_object(Bucket=reference["bucket"], Key=reference["key"])["Body"].read()
    assert json.loads(stored) == event["Records"][0]
    assert reference["key"] == f"quarantine/{hashlib.sha256(stored).hexdigest()}.json"
    assert reference["size"] == len(stored)


def test_when_the_quarantine_send_fails_the_record_is_reported(aws, cold_start, context):
    url = f"{aws}/123456789012/no-such-queue"
    handler = cold_start(AWS_ENDPOINT_URL=aws, POISON_QUEUE_URL=url, EVENT_DETAIL=DOUBLED)
    event = sqs_event([json.dumps({"blob": "x" * 600_000})])
    response = handler(event, context)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
