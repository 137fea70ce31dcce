"""Lambda event -> SourceRecord list: one reader per event source, nothing else knows their shapes.

A malformed event as a whole (no Records list, unknown or mixed sources, a record that cannot be
named in a partial batch response) raises EventError: Lambda then retries the whole batch, so
nothing is lost. A record that is readable but unusable (say, Kinesis data that is not base64)
becomes a SourceRecord with a `problem`, which is reported for that record alone.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

SQS = "aws:sqs"
KINESIS = "aws:kinesis"


class EventError(ValueError):
    """The invocation event is not a batch this function can read; the whole batch is retried."""


@dataclass(slots=True)
class SourceRecord:
    item_id: str  # what the partial batch response names: SQS messageId, Kinesis sequenceNumber
    body: str | bytes | None  # text, or bytes when Kinesis data is not UTF-8
    time: float | None = None  # epoch seconds; EventBridge stamps its own time when None
    trace_header: str | None = None
    group: str | None = None  # FIFO message group: records of one group are sent in order
    problem: str | None = None  # why this record cannot be forwarded at all
    raw: dict | None = None  # the record exactly as Lambda delivered it


def parse_event(event: Any) -> tuple[str, list[SourceRecord]]:
    """Return the batch's event source and its records, or raise EventError saying what is wrong."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise EventError("event has no 'Records' list: expected an SQS or Kinesis batch")
    if not records:
        return "", []
    source = _single_source(records)
    reader = _READERS[source]
    return source, [reader(raw, index) for index, raw in enumerate(records)]


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


def _sqs_record(raw: dict, index: int) -> SourceRecord:
    item_id = _identifier(raw, "messageId", index)
    # Lambda always sends attributes; a record without them is still forwarded (without Time or trace).
    record = SQSRecord(raw if isinstance(raw.get("attributes"), dict) else {**raw, "attributes": {}})
    attributes = record.attributes
    body = raw.get("body")
    is_fifo = str(raw.get("eventSourceARN", "")).endswith(".fifo")
    return SourceRecord(
        item_id=item_id,
        body=body if isinstance(body, str) else None,
        time=_epoch_millis(attributes.get("SentTimestamp")),
        trace_header=attributes.aws_trace_header,
        # Standard queues may carry a MessageGroupId too (fair queues); only FIFO queues promise order.
        group=attributes.message_group_id if is_fifo else None,
        raw=raw,
    )


def _kinesis_record(raw: dict, index: int) -> SourceRecord:
    if not isinstance(raw.get("kinesis"), dict):
        raise EventError(f"record {index} has no 'kinesis' object")
    item_id = _identifier(raw["kinesis"], "sequenceNumber", index)
    payload = KinesisStreamRecord(raw).kinesis
    body, problem = _kinesis_body(payload.get("data"))
    return SourceRecord(
        item_id=item_id,
        body=body,
        time=_number(payload.get("approximateArrivalTimestamp")),
        problem=problem,
        raw=raw,
    )


def _kinesis_body(data: Any) -> tuple[str | bytes | None, str | None]:
    if not isinstance(data, str):
        return None, "kinesis record has no base64 'data' string"
    try:
        decoded = b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None, "kinesis data is not valid base64"
    try:
        return decoded.decode("utf-8"), None
    except UnicodeDecodeError:
        return decoded, None


def _epoch_millis(value: Any) -> float | None:
    number = _number(value)
    return None if number is None else number / 1000


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 1e13 else None


_READERS: dict[str, Callable[[dict, int], SourceRecord]] = {SQS: _sqs_record, KINESIS: _kinesis_record}
