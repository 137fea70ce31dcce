"""What the emulator needs before the invocation: the target bus (made only when asked), and the SQS source
queues the event names, holding its messages, so that the function's calls on them work as on AWS.

A reported SQS record's visibility is changed with its receipt handle (the visibility backoff): on a queue
that does not exist, or with the sample's made-up handle, that call fails and the function warns about it,
which says nothing of the function. So each SQS record's message is sent to a queue of the name its
`eventSourceARN` gives, received, and the event delivered carries the receipt handle that receive gave.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tools.local_invoke.outcome import log


def prepare_bus(events: Any, bus: str, create: bool) -> bool:
    """True when `bus` exists (or was created because `create` asked for it); says which on stderr."""
    if bus == "default" or bus.startswith("arn:"):
        return True  # the default bus always exists; an ARN names a bus elsewhere, not ours to make
    try:
        events.describe_event_bus(Name=bus)
        return True
    except events.exceptions.ResourceNotFoundException:
        pass
    if create:
        events.create_event_bus(Name=bus)
        log(f"created event bus {bus!r} (--create-bus)")
        return True
    log(f"event bus {bus!r} does not exist on the emulator: the function's PutEvents fail as they would on AWS; "
        "pass --create-bus (INVOKE_ARGS=--create-bus) to create it")
    return False


def stage_sqs_messages(sqs: Any, event: bytes) -> bytes:
    """The event, its SQS records' messages put in their queues and their receipt handles replaced."""
    document = json.loads(event)
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        return event
    by_queue: dict[str, list[dict]] = {}
    for record in records:
        if isinstance(record, dict) and record.get("eventSource") == "aws:sqs" and isinstance(record.get("body"), str):
            name = str(record.get("eventSourceARN", "")).rsplit(":", 1)[-1]
            if name:
                by_queue.setdefault(name, []).append(record)
    for name, queued in by_queue.items():
        url = _queue(sqs, name)
        sent = {_send(sqs, url, record): record for record in queued}
        for message_id, receipt in _receive(sqs, url, set(sent)).items():
            sent[message_id]["receiptHandle"] = receipt
        log(f"source queue {name!r} holds the event's {len(queued)} message(s); the event carries their receipt "
            "handles")
    return json.dumps(document).encode() if by_queue else event


def _queue(sqs: Any, name: str) -> str:
    attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # the same URL if it exists


def _send(sqs: Any, url: str, record: dict) -> str:
    params: dict[str, Any] = {"QueueUrl": url, "MessageBody": record["body"]}
    if url.endswith(".fifo"):
        attributes = record.get("attributes") if isinstance(record.get("attributes"), dict) else {}
        params["MessageGroupId"] = attributes.get("MessageGroupId") or "local-invoke"
        params["MessageDeduplicationId"] = hashlib.sha256(str(record.get("messageId")).encode()).hexdigest()
    return sqs.send_message(**params)["MessageId"]


def _receive(sqs: Any, url: str, wanted: set[str], tries: int = 20) -> dict[str, str]:
    """Receipt handles of the messages just sent (a FIFO group's come out together, in order, up to 10)."""
    found: dict[str, str] = {}
    for _ in range(tries):
        if wanted <= set(found):
            break
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            if message["MessageId"] in wanted:
                found[message["MessageId"]] = message["ReceiptHandle"]
    return found
