"""The Custom Event Bus path, through the fault endpoint's eventbridgev2 (rpc-v2-cbor) API."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from forwarder_testing.events import fifo_event, kinesis_event, sqs_event
from forwarder_testing.lambda_context import LambdaContext

pytestmark = pytest.mark.integration
BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"



@pytest.fixture
def handler(endpoint, cold_start):
    return cold_start(AWS_ENDPOINT_URL=endpoint.url, EVENT_BUS_NAME=BUS, DEADLINE_MARGIN_MS="500")


def test_publishes_in_requests_of_up_to_100_with_deduplication_ids(endpoint, handler, context):
    event = sqs_event([json.dumps({"n": n}) for n in range(250)])
    assert handler(event, context) == {"batchItemFailures": []}
    accepted = endpoint.accepted_v2()
    assert len(accepted) == 250
    assert endpoint.stats()["eventbridgev2"]["requests"] == 3
    assert {entry["EventBusArn"] for entry in accepted} == {BUS}
    assert len({entry["SystemMetadata"]["DeduplicationId"] for entry in accepted}) == 250
    assert all("TraceHeader" not in entry and "EventBusName" not in entry for entry in accepted)


def test_a_redelivered_batch_is_deduplicated_not_published_twice(endpoint, handler, context):
    # GIVEN a batch that was forwarded once, then handed to the function again (say, after a timeout)
    event = sqs_event([json.dumps({"n": n}) for n in range(30)])
    assert handler(event, context) == {"batchItemFailures": []}
    # WHEN it is forwarded again
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    # THEN every record is confirmed (DEDUPLICATED is a success) and the bus holds each once
    assert len(endpoint.accepted_v2()) == 30
    assert endpoint.stats()["eventbridgev2"]["entries_deduplicated"] == 30


def test_lost_answers_leave_no_duplicates(endpoint, handler, context):
    # GIVEN an endpoint that accepts the first requests but never answers them
    endpoint.configure(request_schedule=["accepted_reset", "accepted_hang"], slow_ms=6000)
    event = sqs_event([json.dumps({"n": n}) for n in range(150)])
    # WHEN the forwarder retries what it could not confirm
    assert handler(event, context) == {"batchItemFailures": []}
    # THEN nothing is on the bus twice
    ids = Counter(entry["SystemMetadata"]["DeduplicationId"] for entry in endpoint.accepted_v2())
    assert len(ids) == 150 and max(ids.values()) == 1
    assert endpoint.stats()["eventbridgev2"]["entries_deduplicated"] >= 1


def test_fifo_groups_become_event_groups_in_order(endpoint, handler, context):
    messages = [(g, json.dumps({"g": g, "n": n})) for n in range(4) for g in ("a", "b")]
    assert handler(fifo_event(messages), context) == {"batchItemFailures": []}
    accepted = endpoint.accepted_v2()
    for group in "ab":
        in_group = [e for e in accepted if e["SystemMetadata"].get("EventGroupId") == group]
        assert [json.loads(e["Detail"])["n"] for e in in_group] == [0, 1, 2, 3]


def test_kinesis_partition_keys_become_event_groups(endpoint, handler, context):
    event = kinesis_event([b'{"a": 1}', b'{"a": 2}'])
    event["Records"][1]["kinesis"]["partitionKey"] = "other"
    assert handler(event, context) == {"batchItemFailures": []}
    groups = sorted(e["SystemMetadata"]["EventGroupId"] for e in endpoint.accepted_v2())
    assert groups == ["key", "other"]


def test_final_failures_are_reported(endpoint, handler, context):
    endpoint.configure(detail_rules=[{"contains": "bad", "code": "AccessDeniedException"}])
    event = sqs_event(['{"ok": 1}', '{"bad": 1}'])
    response = handler(event, context)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
