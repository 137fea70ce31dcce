"""Lambda event -> SourceRecord list: one reader per event source, nothing else knows their shapes.

A malformed event as a whole raises EventError, and Lambda then retries the whole batch, so
nothing is lost. Only these are: no Records list, unknown or mixed sources, and a record that
cannot be named in a partial batch response (no messageId, or no kinesis / dynamodb object with
its sequence number). Anything else a record carries may be any JSON value:
- a record that is readable but unusable (Kinesis data that is not base64, a DynamoDB image that
  is not DynamoDB JSON) becomes a SourceRecord with a `problem`, reported for that record alone;
- an unusable optional field is left out: a time that is not epoch seconds (or milliseconds) within
  what a datetime holds, a trace header, message group or partition key that is not a string;
- a body that is not a string is forwarded as no body (`{"data": null}`).

An SQS body shaped like an SNS notification is unwrapped only when the policy allows it (the
SNS_UNWRAP setting) and the envelope is well-formed: a `Notification` with a string Message, a
TopicArn that is an SNS topic ARN within SNS's limits, and a Timestamp that parses. Anyone who
can send to the queue can write such a body, so its TopicArn and Timestamp are claims, not facts.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import StreamRecord
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from forwarder.settings import SNS_TOPIC_ARN, SnsUnwrap

SQS = "aws:sqs"
KINESIS = "aws:kinesis"
DYNAMODB = "aws:dynamodb"
KPL_MAGIC = b"\xf3\x89\x9a\xc2"  # the first bytes of a KPL-aggregated Kinesis record
_INT64 = range(-(2**63), 2**63)


class EventError(ValueError):
    """The invocation event is not a batch this function can read; the whole batch is retried."""


@dataclass(slots=True)
class SourceRecord:
    item_id: str  # what the partial batch response names: messageId, or the (aggregate's) sequence number
    body: str | bytes | None  # text, or bytes when Kinesis data is not UTF-8
    time: float | None = None  # epoch seconds; EventBridge stamps its own time when None
    trace_header: str | None = None
    group: str | None = None  # FIFO message group: records of one group are sent in order
    problem: str | None = None  # why this record cannot be forwarded at all
    raw: dict | None = None  # the record exactly as Lambda delivered it
    resources: tuple[str, ...] = ()  # ARNs the event is about (the SNS topic)
    sub_sequence: int | None = None  # position of a user record inside a KPL aggregate
    partition_key: str | None = None


def parse_event(event: Any, sns_unwrap: SnsUnwrap = True) -> tuple[str, list[SourceRecord]]:
    """Return the batch's event source and its records, or raise EventError saying what is wrong."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise EventError("event has no 'Records' list: expected an SQS, Kinesis or DynamoDB Streams batch")
    if not records:
        return "", []
    source = _single_source(records)
    reader = _READERS[source]
    parsed = [record for index, raw in enumerate(records) for record in reader(raw, index)]
    if source == SQS and sns_unwrap is not False:
        for record in parsed:
            _unwrap_sns(record, sns_unwrap)
    return source, parsed


def _single_source(records: list) -> str:
    sources = {_text(raw.get("eventSource")) if isinstance(raw, dict) else None for raw in records}
    if len(sources) > 1:
        names = sorted(str(s) for s in sources)
        raise EventError(f"batch mixes event sources {names}: one invocation takes one source")
    (source,) = sources
    if source not in _READERS:
        raise EventError(f"unsupported eventSource {source!r}: expected one of {sorted(_READERS)}")
    return source


def _identifier(raw: dict, key: str, index: int) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        # Without it the record cannot be reported, and Lambda fails a response naming an empty id.
        raise EventError(f"record {index} has no {key}: it could not be reported if it failed")
    return value


# -- SQS, and SNS notifications delivered through SQS ----------------------------------------------


def _sqs_records(raw: dict, index: int) -> list[SourceRecord]:
    item_id = _identifier(raw, "messageId", index)
    # Lambda always sends attributes; a record without them is still forwarded (without Time or trace).
    record = SQSRecord(raw if isinstance(raw.get("attributes"), dict) else {**raw, "attributes": {}})
    attributes = record.attributes
    body = raw.get("body")
    is_fifo = str(raw.get("eventSourceARN", "")).endswith(".fifo")
    source = SourceRecord(
        item_id=item_id,
        body=body if isinstance(body, str) else None,
        time=_epoch_millis(attributes.get("SentTimestamp")),
        trace_header=_text(attributes.aws_trace_header),
        # Standard queues may carry a MessageGroupId too (fair queues); only FIFO queues promise order.
        group=_text(attributes.message_group_id) if is_fifo else None,
        raw=raw,
    )
    return [source]


def _unwrap_sns(record: SourceRecord, policy: SnsUnwrap) -> None:
    """An SNS subscription without raw delivery wraps the message: forward the message itself."""
    body = record.body
    # Cheap test first: only an envelope is parsed twice.
    if not (isinstance(body, str) and '"Notification"' in body and '"TopicArn"' in body):
        return
    try:
        envelope = json.loads(body)
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


# -- Kinesis, with KPL aggregation ----------------------------------------------------------------


def _kinesis_records(raw: dict, index: int) -> list[SourceRecord]:
    if not isinstance(raw.get("kinesis"), dict):
        raise EventError(f"record {index} has no 'kinesis' object")
    item_id = _identifier(raw["kinesis"], "sequenceNumber", index)
    payload = KinesisStreamRecord(raw).kinesis
    common = {"item_id": item_id, "time": _seconds(payload.get("approximateArrivalTimestamp")), "raw": raw}
    data, problem = _base64(payload.get("data"))
    if data is None:
        return [SourceRecord(body=None, problem=problem, **common)]
    if data.startswith(KPL_MAGIC):
        return _deaggregate(raw, common)
    return [SourceRecord(body=_text_or_bytes(data), partition_key=_text(payload.get("partitionKey")), **common)]


def _deaggregate(raw: dict, common: dict) -> list[SourceRecord]:
    """One SourceRecord per user record; all share the aggregate's sequence number."""
    # Imported only when an aggregate arrives: protobuf costs cold-start time nobody else should pay.
    from aws_kinesis_agg.deaggregator import deaggregate_records

    try:
        users = deaggregate_records([raw])
    except Exception as error:  # noqa: BLE001 - a corrupt aggregate is this record's problem alone
        return [SourceRecord(body=None, problem=f"KPL aggregate could not be decoded: {error}", **common)]
    records = []
    for user in users:
        payload = user["kinesis"]
        data, problem = _base64(payload["data"])
        records.append(
            SourceRecord(
                body=None if data is None else _text_or_bytes(data),
                problem=problem,
                sub_sequence=payload.get("subSequenceNumber"),
                partition_key=_text(payload.get("partitionKey")),
                **common,
            )
        )
    return records


def _base64(data: Any) -> tuple[bytes | None, str | None]:
    if isinstance(data, bytes):
        data = data.decode("ascii", "replace")
    if not isinstance(data, str):
        return None, "kinesis record has no base64 'data' string"
    try:
        return b64decode(data, validate=True), None
    except (binascii.Error, ValueError):
        return None, "kinesis data is not valid base64"


def _text_or_bytes(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


# -- DynamoDB Streams -----------------------------------------------------------------------------


def _dynamodb_records(raw: dict, index: int) -> list[SourceRecord]:
    change = raw.get("dynamodb")
    if not isinstance(change, dict):
        raise EventError(f"record {index} has no 'dynamodb' object")
    item_id = _identifier(change, "SequenceNumber", index)
    time = _seconds(change.get("ApproximateCreationDateTime"))
    try:
        body = _dynamodb_detail(raw, change)
    except Exception as error:  # noqa: BLE001 - an image that is not DynamoDB JSON is this record's problem alone
        problem = f"DynamoDB record is not readable as DynamoDB JSON ({type(error).__name__})"
        return [SourceRecord(item_id=item_id, body=None, time=time, problem=problem, raw=raw)]
    return [SourceRecord(item_id=item_id, body=body, time=time, raw=raw)]


def _dynamodb_detail(raw: dict, change: dict) -> str:
    """Raises on anything boto3's TypeDeserializer cannot read: a bad number, an unknown type, a list for a map."""
    stream = StreamRecord(change)
    detail: dict[str, Any] = {"eventName": raw.get("eventName"), "keys": stream.keys}
    # Images are present only when the stream's view type carries them.
    if "NewImage" in change:
        detail["newImage"] = stream.new_image
    if "OldImage" in change:
        detail["oldImage"] = stream.old_image
    return json.dumps(detail, default=_plain, ensure_ascii=False, separators=(",", ":"))


def _plain(value: Any) -> Any:
    """DynamoDB's typed values as ordinary JSON: numbers as numbers, sets as sorted lists."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and int(value) in _INT64:
            return int(value)
        as_float = float(value)
        # A number EventBridge could not hold exactly (beyond int64 or double) stays exact, as text.
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=lambda item: (str(type(item)), item))
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# -- shared ---------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _epoch_millis(value: Any) -> float | None:
    number = _seconds(value)
    return None if number is None else number / 1000


def _seconds(value: Any) -> float | None:
    """A positive number below 1e13 (epoch seconds, or SQS's milliseconds), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond a double
        return None
    return number if 0 < number < 1e13 else None


def _iso_time(value: Any) -> float | None:
    """An ISO 8601 time with its offset (SNS writes `2025-11-22T10:00:00.000Z`) as epoch seconds."""
    try:
        moment = datetime.fromisoformat(value)
        # In UTC, so that a time an offset pushes out of what a datetime holds (year 1 at +14:00) is refused.
        return moment.astimezone(UTC).timestamp() if moment.tzinfo is not None else None
    except (TypeError, ValueError, OverflowError):
        return None


_READERS: dict[str, Callable[[dict, int], list[SourceRecord]]] = {
    SQS: _sqs_records,
    KINESIS: _kinesis_records,
    DYNAMODB: _dynamodb_records,
}
