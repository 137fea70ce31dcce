"""A message parked in a queue -> what it holds: a quarantined record, or a stream range Lambda gave up on.

Two writers park records, each with a body of its own shape:
- the quarantine (stages/quarantine.py): `{"record": <the Lambda record>, "errorCode": ..., "errorMessage": ...}`;
- a Kinesis or DynamoDB Streams event source's on-failure destination: Lambda's invocation record, whose
  `KinesisBatchInfo` or `DDBStreamBatchInfo` names a shard and a sequence range, not the records.

Anything else (a message someone else sent, a truncated body) is `Unrecognised`: the redrive leaves it alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

KINESIS_BATCH = "KinesisBatchInfo"
DYNAMODB_BATCH = "DDBStreamBatchInfo"


@dataclass(frozen=True, slots=True)
class Quarantined:
    record: dict  # the Lambda record exactly as the function received it
    error_code: str | None
    error_message: str | None

    @property
    def event_source(self) -> str | None:
        source = self.record.get("eventSource")
        return source if isinstance(source, str) else None


@dataclass(frozen=True, slots=True)
class StreamRange:
    kind: str  # KINESIS_BATCH or DYNAMODB_BATCH
    stream_arn: str
    shard_id: str
    start: str  # sequence numbers, both included
    end: str
    size: int  # how many records Lambda's batch held (the on-failure record's batchSize)

    @property
    def region(self) -> str:
        return self.stream_arn.split(":")[3]


@dataclass(frozen=True, slots=True)
class Unrecognised:
    reason: str


Parked = Quarantined | StreamRange | Unrecognised


def parse_parked(body: str) -> Parked:
    """Tell the two shapes apart by their members; never raises."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return Unrecognised("body is not JSON")
    if not isinstance(document, dict):
        return Unrecognised("body is not a JSON object")
    if isinstance(document.get("record"), dict):
        return Quarantined(document["record"], _text(document.get("errorCode")), _text(document.get("errorMessage")))
    for kind in (KINESIS_BATCH, DYNAMODB_BATCH):
        if isinstance(document.get(kind), dict):
            return _stream_range(kind, document[kind])
    return Unrecognised("neither a quarantined record nor a Kinesis or DynamoDB on-failure record")


def _stream_range(kind: str, info: dict) -> StreamRange | Unrecognised:
    names = ("streamArn", "shardId", "startSequenceNumber", "endSequenceNumber")
    values = [info.get(name) for name in names]
    if not all(isinstance(value, str) and value for value in values):
        return Unrecognised(f"{kind} lacks one of {', '.join(names)}")
    stream_arn, shard_id, start, end = values
    if not (start.isdigit() and end.isdigit()) or len(stream_arn.split(":")) < 6:
        return Unrecognised(f"{kind} has a malformed stream ARN or sequence number")
    size = info.get("batchSize")
    size = size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 1
    return StreamRange(kind, stream_arn, shard_id, start, end, size)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
