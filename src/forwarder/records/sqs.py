"""SQS records, and SNS notifications delivered through SQS.

An SQS body shaped like an SNS notification is unwrapped only when the policy allows it (the
SNS_UNWRAP setting) and the envelope is well-formed: a `Notification` with a string Message, a
TopicArn that is an SNS topic ARN within SNS's limits, and a Timestamp that parses. Anyone who
can send to the queue can write such a body, so its TopicArn and Timestamp are claims, not facts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from forwarder.config.settings import SNS_TOPIC_ARN, SnsUnwrap
from forwarder.core.fast_json import loads
from forwarder.core.trace_header import usable
from forwarder.records.record import SourceRecord, epoch_millis, identifier, text
from forwarder.records.trace_context import from_sns_attributes, from_sqs_attributes


def sqs_item_id(raw: dict, index: int) -> str:
    return identifier(raw, "messageId", index)


def sqs_records(raw: dict, index: int) -> list[SourceRecord]:
    item_id = sqs_item_id(raw, index)
    # Lambda always sends attributes; a record without them is still forwarded (without Time or trace).
    # Read from the dict itself: Powertools' SQSRecord wrapper reads the same keys at several times the CPU.
    attributes = raw.get("attributes")
    if not isinstance(attributes, dict):
        attributes = {}
    body = raw.get("body")
    is_fifo = str(raw.get("eventSourceARN", "")).endswith(".fifo")
    # AWSTraceHeader first; an OpenTelemetry producer's traceparent when there is none, or it cannot be sent
    # (trace_context.py). Most records have no message attributes: no call for them then.
    trace = usable(attributes.get("AWSTraceHeader"))
    if trace is None and (message_attributes := raw.get("messageAttributes")):
        trace = from_sqs_attributes(message_attributes)
    source = SourceRecord(
        item_id=item_id,
        body=body if isinstance(body, str) else None,
        time=epoch_millis(attributes.get("SentTimestamp")),
        trace_header=trace,
        # Standard queues may carry a MessageGroupId too (fair queues); only FIFO queues promise order.
        group=text(attributes.get("MessageGroupId")) if is_fifo else None,
        raw=raw,
    )
    return [source]


def unwrap_sns(record: SourceRecord, policy: SnsUnwrap) -> None:
    """An SNS subscription without raw delivery wraps the message: forward the message itself."""
    body = record.body
    # Cheap test first: only an envelope is parsed twice.
    if not (isinstance(body, str) and '"Notification"' in body and '"TopicArn"' in body):
        return
    try:
        envelope = loads(body)  # json.loads' value or error (fast_json: orjson where it reads alike)
    except (ValueError, RecursionError):
        return
    if not (isinstance(envelope, dict) and envelope.get("Type") == "Notification"):
        return
    message, topic = envelope.get("Message"), envelope.get("TopicArn")
    if not (isinstance(message, str) and isinstance(topic, str) and SNS_TOPIC_ARN.fullmatch(topic)):
        return  # not an envelope SNS wrote: forwarded as the body it is
    if policy is not True and topic not in policy:
        return
    sent = _iso_time(envelope.get("Timestamp"))
    if sent is None:
        return
    record.body = message
    record.time = sent
    record.resources = (topic,)
    record.envelope = envelope  # for the record view, which leaves its Message out (it is the body)
    if not record.trace_header:  # a traceparent that SNS carried in the envelope, not in the SQS message
        record.trace_header = from_sns_attributes(envelope.get("MessageAttributes"))


def _iso_time(value: Any) -> float | None:
    """An ISO 8601 time with its offset (SNS writes `2025-11-22T10:00:00.000Z`) as epoch seconds."""
    try:
        moment = datetime.fromisoformat(value)
        # In UTC, so that a time an offset pushes out of what a datetime holds (year 1 at +14:00) is refused.
        return moment.astimezone(UTC).timestamp() if moment.tzinfo is not None else None
    except (TypeError, ValueError, OverflowError):
        return None
