"""Lambda event -> SourceRecord list: one reader per event source, nothing else knows their shapes.

A malformed event as a whole (no Records list, unknown or mixed sources, a record that cannot be
named in a partial batch response) raises EventError: Lambda then retries the whole batch, so
nothing is lost. A record that is readable but unusable (say, Kinesis data that is not base64)
becomes a SourceRecord with a `problem`, which is reported for that record alone.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import StreamRecord
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.data_classes.sns_event import SNSMessage
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

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


def parse_event(event: Any) -> tuple[str, list[SourceRecord]]:
    """Return the batch's event source and its records, or raise EventError saying what is wrong."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise EventError("event has no 'Records' list: expected an SQS, Kinesis or DynamoDB Streams batch")
    if not records:
        return "", []
    source = _single_source(records)
    reader = _READERS[source]
    return source, [record for index, raw in enumerate(records) for record in reader(raw, index)]


def _single_source(records: list) -> str:
    sources = {raw.get("eventSource") if isinstance(raw, dict) else None for raw in records}
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
        trace_header=attributes.aws_trace_header,
        # Standard queues may carry a MessageGroupId too (fair queues); only FIFO queues promise order.
        group=attributes.message_group_id if is_fifo else None,
        raw=raw,
    )
    _unwrap_sns(source)
    return [source]


def _unwrap_sns(record: SourceRecord) -> None:
    """An SNS subscription without raw delivery wraps the message: forward the message itself."""
    body = record.body
    # Cheap test first: only an envelope is parsed twice.
    if not (isinstance(body, str) and '"Notification"' in body and '"TopicArn"' in body):
        return
    try:
        envelope = json.loads(body)
    except ValueError:
        return
    if not (isinstance(envelope, dict) and envelope.get("Type") == "Notification"):
        return
    notification = SNSMessage(envelope)
    message, topic = envelope.get("Message"), envelope.get("TopicArn")
    if not (isinstance(message, str) and isinstance(topic, str)):
        return
    record.body = message
    record.time = _iso_time(envelope.get("Timestamp")) or record.time
    record.resources = (notification.topic_arn,)


# -- Kinesis, with KPL aggregation ----------------------------------------------------------------


def _kinesis_records(raw: dict, index: int) -> list[SourceRecord]:
    if not isinstance(raw.get("kinesis"), dict):
        raise EventError(f"record {index} has no 'kinesis' object")
    item_id = _identifier(raw["kinesis"], "sequenceNumber", index)
    payload = KinesisStreamRecord(raw).kinesis
    common = {"item_id": item_id, "time": _number(payload.get("approximateArrivalTimestamp")), "raw": raw}
    data, problem = _base64(payload.get("data"))
    if data is None:
        return [SourceRecord(body=None, problem=problem, **common)]
    if data.startswith(KPL_MAGIC):
        return _deaggregate(raw, common)
    return [SourceRecord(body=_text_or_bytes(data), partition_key=payload.get("partitionKey"), **common)]


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
                partition_key=payload.get("partitionKey"),
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
    stream = StreamRecord(change)
    detail: dict[str, Any] = {"eventName": raw.get("eventName"), "keys": stream.keys}
    # Images are present only when the stream's view type carries them.
    if "NewImage" in change:
        detail["newImage"] = stream.new_image
    if "OldImage" in change:
        detail["oldImage"] = stream.old_image
    return [
        SourceRecord(
            item_id=item_id,
            body=json.dumps(detail, default=_plain, ensure_ascii=False, separators=(",", ":")),
            time=_number(change.get("ApproximateCreationDateTime")),
            raw=raw,
        )
    ]


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


def _epoch_millis(value: Any) -> float | None:
    number = _number(value)
    return None if number is None else number / 1000


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 1e13 else None


def _iso_time(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(value).timestamp()
    except (TypeError, ValueError):
        return None


_READERS: dict[str, Callable[[dict, int], list[SourceRecord]]] = {
    SQS: _sqs_records,
    KINESIS: _kinesis_records,
    DYNAMODB: _dynamodb_records,
}
