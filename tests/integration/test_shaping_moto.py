"""Shaped events on a bus in moto server: a rule that matches only on the shaped fields receives them."""

from __future__ import annotations

import json

import pytest

from forwarder_testing.events import sqs_record
from forwarder_testing.local_aws import drain, queue_arn

pytestmark = pytest.mark.integration


def test_a_rule_matching_the_shaped_fields_receives_the_shaped_events(aws, clients, cold_start, context):
    # GIVEN a bus whose rule matches only events shaped from an attribute and the body
    events, sqs = clients("events"), clients("sqs")
    events.create_event_bus(Name="shaped")
    queue = sqs.create_queue(QueueName="orders-placed")["QueueUrl"]
    pattern = {"source": ["shop"], "detail-type": ["OrderPlaced"], "detail": {"tenant": ["acme"]}}
    events.put_rule(Name="placed", EventBusName="shaped", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="placed", EventBusName="shaped", Targets=[{"Id": "q", "Arn": queue_arn(sqs, queue)}])
    handler = cold_start(
        AWS_ENDPOINT_URL=aws,
        EVENT_BUS_NAME="shaped",
        EVENT_SOURCE_PATH="body.app",
        EVENT_DETAIL_TYPE_PATH="messageAttributes.type.stringValue",
        EVENT_DETAIL="{orderId: body.id, tenant: body.tenant, queue: eventSourceARN}",
        EVENT_FILTER="body.test != `true`",
    )
    records = []
    for n, (kind, tenant, test) in enumerate(
        [("OrderPlaced", "acme", False), ("OrderPlaced", "other", False), ("OrderShipped", "acme", False),
         ("OrderPlaced", "acme", True), ("OrderPlaced", "acme", False)]
    ):
        raw = sqs_record(json.dumps({"id": f"o-{n}", "app": "shop", "tenant": tenant, "test": test, "card": "4111"}))
        raw["messageAttributes"] = {"type": {"stringValue": kind, "dataType": "String"}}
        records.append(raw)
    # WHEN the batch goes through the handler
    assert handler({"Records": records}, context) == {"batchItemFailures": []}
    # THEN the rule's queue holds exactly the matching events, shaped (the test record was filtered out)
    received = [json.loads(message["Body"]) for message in drain(sqs, queue)]
    assert sorted(event["detail"]["orderId"] for event in received) == ["o-0", "o-4"]
    assert all(set(event["detail"]) == {"orderId", "tenant", "queue"} for event in received)
    assert {(event["source"], event["detail-type"]) for event in received} == {("shop", "OrderPlaced")}


def test_a_record_its_detail_expression_fails_on_is_quarantined_and_the_rest_forwarded(aws, clients, cold_start,
                                                                                       context):
    # GIVEN a quarantine queue and a Detail expression that one record's body cannot satisfy
    sqs = clients("sqs")
    clients("events").create_event_bus(Name="bus")
    poison_url = sqs.create_queue(QueueName="poison")["QueueUrl"]
    handler = cold_start(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="bus", POISON_QUEUE_URL=poison_url,
                         EVENT_DETAIL="{total: sum(body.items)}")
    records = [sqs_record('{"items": [1, 2]}'), sqs_record('{"items": "not numbers"}')]
    # WHEN the batch arrives THEN nothing is handed back: the poison record was moved aside with its reason
    assert handler({"Records": records}, context) == {"batchItemFailures": []}
    (moved,) = [json.loads(message["Body"]) for message in drain(sqs, poison_url)]
    assert moved["errorCode"] == "ShapingFailed" and moved["record"]["messageId"] == records[1]["messageId"]
    assert "EVENT_DETAIL" in moved["errorMessage"]
