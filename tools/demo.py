"""`make demo`: the forwarder in a local pipeline, every part real but AWS itself, as a deployed stack runs it.

It starts moto in server mode on 127.0.0.1 and creates what the stack's defaults create: a source queue, a
bus (with a rule copying every event to a queue, to show what reached it), a quarantine queue and a bucket
for payloads too large for PutEvents. It sends sample messages and drives the handler the way Lambda's SQS
event source does: receive a batch, invoke, delete what succeeded, leave what failed. The function's
filter has a mistake that makes one record fail (it is quarantined); the demo then corrects the setting
and runs `python -m forwarder redrive`, which brings that record back. Log lines are shown short: level,
message and the few fields that matter. The counts are the same on every run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from typing import Any

import boto3

from forwarder_testing.lambda_context import LambdaContext
from forwarder_testing.local_aws import drain, lambda_sqs_record, moto_server, queue_arn, tap_bus
from forwarder_testing.put_events_recorder import PutEventsRecorder

REGION = "us-east-1"
BUS = "demo-bus"
BUCKET = "demo-large-payloads"
TRACE = "Root=1-6740a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
SQS_MAX_BODY = 1024 * 1024  # the largest SQS message; with Source and DetailType it cannot fit a request
# The mistake: JMESPath's contains() raises on null, so a record whose body has no tags fails the filter.
FILTER_WITH_A_MISTAKE = "!contains(body.tags, 'test')"
FILTER_CORRECTED = "!contains(body.tags || `[]`, 'test')"

SAMPLES = [
    ("an order", json.dumps({"orderId": "o-1001", "total": 42.5, "tags": ["web"]}), {}),
    ("an order with a trace header", json.dumps({"orderId": "o-1002", "total": 7, "tags": []}),
     {"AWSTraceHeader": TRACE}),
    ("a test order (filtered out)", json.dumps({"orderId": "t-1", "tags": ["test"]}), {}),
    ("a message too large for PutEvents (claim check)",
     json.dumps({"tags": [], "blob": "x" * (SQS_MAX_BODY - 30)}), {}),
    ("plain text without tags (fails the filter)", "hello from a legacy producer", {}),
]
# Log fields worth a glance, per message; everything else a line carries stays out of the demo's view.
FIELDS = ("received", "forwarded", "failed", "quarantined", "filtered", "requests", "failures_by_code",
          "item_id", "error_code", "error_message", "variable", "reason", "records")


def main() -> int:
    with moto_server() as url, PutEventsRecorder(url) as recorder:
        os.environ.update(
            AWS_ACCESS_KEY_ID="demo",
            AWS_SECRET_ACCESS_KEY="demo",  # noqa: S106 - the emulator takes any credentials
            AWS_DEFAULT_REGION=REGION,
            AWS_ENDPOINT_URL=url,
            AWS_ENDPOINT_URL_EVENTBRIDGE=recorder.url,  # to moto, through the recorder (it keeps trace headers)
            EVENT_BUS_NAME=BUS,
            EVENT_SOURCE="demo.orders",
            EVENT_DETAIL_TYPE="OrderEvent",
            EVENT_FILTER=FILTER_WITH_A_MISTAKE,
            POWERTOOLS_METRICS_DISABLED="true",
        )
        print(f"local AWS (moto server) on {url}\n")
        return run(lambda service: boto3.client(service, endpoint_url=url, region_name=REGION), recorder)


def run(clients, recorder: PutEventsRecorder) -> int:
    sqs = clients("sqs")
    source_url = sqs.create_queue(QueueName="demo-source", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    quarantine_url = sqs.create_queue(QueueName="demo-quarantine")["QueueUrl"]
    clients("s3").create_bucket(Bucket=BUCKET)
    tap_url = tap_bus(clients, BUS, "demo.orders")
    os.environ.update(POISON_QUEUE_URL=quarantine_url, LARGE_PAYLOAD_BUCKET=BUCKET)  # the stack's defaults
    print(f"created queues demo-source and demo-quarantine, bucket {BUCKET}, bus {BUS} (a rule copies every "
          f"event to queue {BUS}-tap)")
    print(f"EVENT_FILTER={FILTER_WITH_A_MISTAKE}  (meant: leave out test orders)\n")
    for label, body, system in SAMPLES:
        extra = {"MessageSystemAttributes": {k: {"StringValue": v, "DataType": "String"} for k, v in system.items()}}
        sqs.send_message(QueueUrl=source_url, MessageBody=body, **(extra if system else {}))
        print(f"sent: {label} ({len(body.encode())} bytes)")

    from forwarder import handler  # imported now: its cold start reads the settings set above

    short_logs(handler.logger)
    reported = poll_like_lambda(sqs, source_url, handler)
    show_bus(sqs, tap_url, recorder, clients("s3"))
    left = show_parked(sqs, source_url, quarantine_url, reported)
    redriven = redrive(quarantine_url)
    show_bus(sqs, tap_url, recorder, clients("s3"))
    show_parked(sqs, source_url, quarantine_url, [])
    return 0 if left == len(reported) and redriven == 0 else 1


def poll_like_lambda(sqs, source_url: str, handler) -> list[str]:
    """Receive batches, invoke the handler, delete what it confirmed, leave what it reported."""
    arn = queue_arn(sqs, source_url)
    reported: list[str] = []
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=source_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        messages = [m for m in messages if m["MessageId"] not in seen]  # a reported one comes back: counted once
        if not messages:
            return reported
        seen.update(m["MessageId"] for m in messages)
        event = {"Records": [lambda_sqs_record(m, arn, REGION) for m in messages]}
        print(f"\ninvoking the handler with a batch of {len(messages)} records")
        with contextlib.redirect_stdout(io.StringIO()):  # metrics (EMF documents) are not for reading here
            response = handler.lambda_handler(event, LambdaContext(timeout_ms=30_000))
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=source_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        reported.extend(sorted(failed))
        print(f"response: {len(failed)} record(s) reported; deleted {len(done)}, left {len(failed)} for redelivery")
        time.sleep(0.2)


def show_bus(sqs, tap_url: str, recorder: PutEventsRecorder, s3) -> None:
    # In a stable order (the large payload's entry goes out once S3 has it, after the others)
    events = sorted(drain(sqs, tap_url, wait_seconds=1), key=lambda m: canonical(json.loads(m["Body"])["detail"]))
    traces = {canonical(json.loads(entry["Detail"])): entry.get("TraceHeader") for entry in recorder.entries}
    print(f"\n== {len(events)} event(s) reached the bus {BUS} ==")
    for message in events:
        event = json.loads(message["Body"])
        detail = json.dumps(event["detail"], separators=(",", ":"))
        trace = traces.get(canonical(event["detail"]))
        print(f"- {event['source']} / {event['detail-type']}: {detail[:70]}{'...' if len(detail) > 70 else ''}")
        print(f"    trace header: {trace or '(none: the record carried none)'}")
    stored = s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    print(f"bucket {BUCKET} holds {stored} payload(s) too large for PutEvents")


def canonical(detail: Any) -> str:
    return json.dumps(detail, sort_keys=True)


def show_parked(sqs, source_url: str, quarantine_url: str, reported: list[str]) -> int:
    """What is left where, counted from the queues themselves."""
    left = queue_count(sqs, source_url)
    quarantined = peek(sqs, quarantine_url)
    print(f"\n== {len(reported)} record(s) reported for redelivery; demo-source holds {left} message(s) ==")
    print(f"== {len(quarantined)} record(s) in demo-quarantine ==")
    for body in quarantined:
        print(f"- {body.get('errorCode')}: {body.get('errorMessage')}")
    return left


def redrive(quarantine_url: str) -> int:
    from forwarder.redrive.command import main as redrive_command

    os.environ["EVENT_FILTER"] = FILTER_CORRECTED
    print(f"\ncorrected: EVENT_FILTER={FILTER_CORRECTED}")
    print(f"$ python -m forwarder redrive --from {quarantine_url}")
    code = redrive_command(["--from", quarantine_url, "--wait-seconds", "0"])
    print(f"(exit status {code})")
    return code


def queue_count(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def peek(sqs, url: str) -> list[dict]:
    """The quarantine's bodies, each made visible again at once (the redrive reads them next)."""
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
    if messages:
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(messages)
        ])
    return [json.loads(m["Body"]) for m in messages]


class ShortLines(io.TextIOBase):
    """The handler's JSON log lines as `LEVEL message  field=value ...`: the few fields that matter."""

    def __init__(self, out: Any) -> None:
        self._out = out

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self._out.write(short(line) + "\n")
        return len(text)


def short(line: str) -> str:
    try:
        record = json.loads(line)
    except ValueError:
        return line
    fields = "  ".join(f"{name}={json.dumps(record[name])}" for name in FIELDS if record.get(name) not in (None, {}))
    return f"  {record.get('level', '?'):7} {record.get('message', '')}  {fields}".rstrip()


def short_logs(logger: Any) -> None:
    logger.registered_handler.setStream(ShortLines(sys.stdout))


if __name__ == "__main__":
    sys.exit(main())
