"""`make demo`: the forwarder in a local pipeline, every part real but AWS itself.

It starts moto in server mode on 127.0.0.1, creates a source queue, a bus with a rule and a
target queue, sends sample messages, and drives the handler the way Lambda's SQS event source
does: receive a batch, invoke, delete what succeeded, leave what failed. Then it shows what
reached the bus and what failed, and stops the emulator.
"""

from __future__ import annotations

import json
import os
import sys
import time

import boto3

from forwarder_testing.lambda_context import LambdaContext
from forwarder_testing.local_aws import drain, lambda_sqs_record, moto_server, queue_arn, tap_bus

REGION = "us-east-1"
BUS = "demo-bus"
TRACE = "Root=1-6740a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
SQS_MAX_BODY = 1024 * 1024  # the largest SQS message; with Source and DetailType it cannot fit a request

SAMPLES = [
    ("an order (JSON object)", json.dumps({"orderId": "o-1001", "total": 42.5, "currency": "EUR"}), {}),
    ("an order with a trace header", json.dumps({"orderId": "o-1002", "total": 7}), {"AWSTraceHeader": TRACE}),
    ("a JSON array (wrapped)", json.dumps([1, 2, 3]), {}),
    ("plain text (wrapped)", "hello from a legacy producer", {}),
    ("a message too large for PutEvents", "x" * SQS_MAX_BODY, {}),
]


def main() -> int:
    with moto_server() as url:
        os.environ.update(
            AWS_ACCESS_KEY_ID="demo",
            AWS_SECRET_ACCESS_KEY="demo",  # noqa: S106 - the emulator takes any credentials
            AWS_DEFAULT_REGION=REGION,
            AWS_ENDPOINT_URL=url,
            EVENT_BUS_NAME=BUS,
            EVENT_SOURCE="demo.orders",
            EVENT_DETAIL_TYPE="OrderEvent",
            POWERTOOLS_METRICS_DISABLED="true",
        )
        print(f"local AWS (moto server) on {url}\n")
        return run(lambda service: boto3.client(service, endpoint_url=url, region_name=REGION))


def run(clients) -> int:
    sqs = clients("sqs")
    source_url = sqs.create_queue(QueueName="demo-source", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    tap_url = tap_bus(clients, BUS, "demo.orders")
    print(f"created queue demo-source, bus {BUS} with a rule copying every event to queue {BUS}-tap\n")
    for label, body, system in SAMPLES:
        extra = {"MessageSystemAttributes": {k: {"StringValue": v, "DataType": "String"} for k, v in system.items()}}
        sqs.send_message(QueueUrl=source_url, MessageBody=body, **(extra if system else {}))
        print(f"sent: {label} ({len(body.encode())} bytes)")

    from forwarder import handler  # imported now: its cold start reads the settings set above

    failed = poll_like_lambda(sqs, source_url, handler)
    show_bus(sqs, tap_url)
    show_failures(sqs, source_url, failed)
    return 0


def poll_like_lambda(sqs, source_url: str, handler) -> list[str]:
    """Receive batches, invoke the handler, delete what it confirmed, leave what it reported."""
    arn = queue_arn(sqs, source_url)
    reported: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=source_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return reported
        event = {"Records": [lambda_sqs_record(m, arn, REGION) for m in messages]}
        print(f"\ninvoking the handler with a batch of {len(messages)} records")
        response = handler.lambda_handler(event, LambdaContext(timeout_ms=30_000))
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=source_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        reported.extend(failed)
        print(f"handler response: {json.dumps(response)}")
        print(f"deleted {len(done)} confirmed messages; left {len(failed)} in the queue for redelivery")
        time.sleep(0.2)


def show_bus(sqs, tap_url: str) -> None:
    events = drain(sqs, tap_url, wait_seconds=1)
    print(f"\n== {len(events)} events reached the bus {BUS} ==")
    for message in events:
        event = json.loads(message["Body"])
        detail = json.dumps(event["detail"])
        print(f"- {event['source']} / {event['detail-type']}: {detail[:80]}")


def show_failures(sqs, source_url: str, failed: list[str]) -> None:
    print(f"\n== {len(failed)} records reported failed (still in demo-source, nothing dropped) ==")
    for message_id in failed:
        print(f"- {message_id}: see the 'record not forwarded' log line above for the reason")
    attributes = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["All"])["Attributes"]
    in_flight = int(attributes["ApproximateNumberOfMessagesNotVisible"])
    print(f"demo-source holds {in_flight} message(s) waiting for their visibility timeout to end\n")


if __name__ == "__main__":
    sys.exit(main())
