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

Reading stops at the invocation's deadline, as every stage before publishing does: a record not read by then
is named (its id only) and marked `unread`, so that it is reported for redelivery, never lost.

The readers: sqs.py (with SNS notifications delivered through SQS), kinesis.py (with KPL
aggregates), dynamodb.py; record.py holds what they share.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from forwarder.config.settings import SnsUnwrap
from forwarder.records.dynamodb import dynamodb_item_id, dynamodb_records
from forwarder.records.kinesis import kinesis_item_id, kinesis_records
from forwarder.records.record import EventError, SourceRecord, text
from forwarder.records.sqs import sqs_item_id, sqs_records, unwrap_sns

__all__ = ["DYNAMODB", "KINESIS", "SQS", "EventError", "SourceRecord", "parse_event"]

SQS = "aws:sqs"
KINESIS = "aws:kinesis"
DYNAMODB = "aws:dynamodb"
_READERS: dict[str, Callable[[dict, int], list[SourceRecord]]] = {
    SQS: sqs_records,
    KINESIS: kinesis_records,
    DYNAMODB: dynamodb_records,
}
# What names a record in a partial batch response, read without reading the rest of it.
_NAMERS: dict[str, Callable[[dict, int], str]] = {
    SQS: sqs_item_id,
    KINESIS: kinesis_item_id,
    DYNAMODB: dynamodb_item_id,
}


def parse_event(
    event: Any, sns_unwrap: SnsUnwrap = True, deadline: float = math.inf
) -> tuple[str, list[SourceRecord]]:
    """Return the batch's event source and its records, or raise EventError saying what is wrong. Records
    not reached by `deadline` (time.monotonic()'s time line) are `unread`."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise EventError("event has no 'Records' list: expected an SQS, Kinesis or DynamoDB Streams batch")
    if not records:
        return "", []
    source = _single_source(records)
    reader = _READERS[source]
    unwrap = source == SQS and sns_unwrap is not False
    parsed: list[SourceRecord] = []
    for index, raw in enumerate(records):
        if time.monotonic() >= deadline:
            parsed.extend(_unread(_NAMERS[source], records, index))
            break
        for record in reader(raw, index):
            # unwrap_sns's own first test, without a call per record that is no notification
            if unwrap and isinstance(record.body, str) and '"Notification"' in record.body:
                unwrap_sns(record, sns_unwrap)
            parsed.append(record)
    return source, parsed


def _unread(name: Callable[[dict, int], str], records: list, start: int) -> list[SourceRecord]:
    """The records from `start` on, named only: the deadline came before they were read."""
    return [
        SourceRecord(item_id=name(raw, index), body=None, raw=raw, unread=True)
        for index, raw in enumerate(records[start:], start)
    ]


def _single_source(records: list) -> str:
    sources = {text(raw.get("eventSource")) if isinstance(raw, dict) else None for raw in records}
    if len(sources) > 1:
        names = sorted(str(s) for s in sources)
        raise EventError(f"batch mixes event sources {names}: one invocation takes one source")
    (source,) = sources
    if source not in _READERS:
        raise EventError(f"unsupported eventSource {source!r}: expected one of {sorted(_READERS)}")
    return source
