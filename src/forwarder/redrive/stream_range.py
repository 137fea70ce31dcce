"""A stream range from an on-failure record -> its records again, in the shapes Lambda delivers them.

`GetShardIterator` at the range's first sequence number, then `GetRecords` until a record past its last one.
A stream keeps records for its retention only (24 hours by default, Kinesis up to 365 days, DynamoDB 24
hours): what was trimmed is counted as expired. Sequence numbers of a shard grow but are not contiguous, so
the only count of what should be there is the batch size Lambda wrote; a range read from its first sequence
number to its last is whole, whatever that size says.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from forwarder.redrive.parked import KINESIS_BATCH, StreamRange

# Codes that mean the records are gone: trimmed by the retention, or the shard or stream no longer exists.
GONE = frozenset({"TrimmedDataAccessException", "ResourceNotFoundException"})
# A shard that is still open answers empty pages at its tip: after this many in a row the range has no more.
MAX_EMPTY_PAGES = 5


@dataclass(slots=True)
class RangeRead:
    records: list[dict] = field(default_factory=list)  # Lambda-shaped, in order
    expired: int = 0
    note: str | None = None  # why records are missing, for the report


def read_range(span: StreamRange, client: Any) -> RangeRead:
    """The range's records from `client` (kinesis or dynamodbstreams, as `span.kind` says). Raises
    ClientError for an error that does not mean the records are gone (the redrive then reports it)."""
    kinesis = span.kind == KINESIS_BATCH
    try:
        pages = _pages(span, client, kinesis)
        raw = _within(span, pages)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in GONE:
            return RangeRead(expired=span.size, note=f"{code}: the range is past the stream's retention")
        raise
    shape = _kinesis_record if kinesis else _dynamodb_record
    records = [shape(span, item) for item in raw]
    whole = bool(raw) and _sequence(raw[0], kinesis) == int(span.start) and _sequence(raw[-1], kinesis) == int(span.end)
    if whole:
        return RangeRead(records)
    missing = max(span.size - len(records), 1)
    return RangeRead(records, missing, "the range's first or last records are no longer in the stream")


def _pages(span: StreamRange, client: Any, kinesis: bool) -> Callable[[], tuple[list[dict], bool]]:
    if kinesis:
        # By name: the stream is in the function's account, and moto (5.x) loses the stream named by StreamARN.
        iterator = client.get_shard_iterator(
            StreamName=span.stream_arn.split(":stream/", 1)[-1], ShardId=span.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=span.start,
        )["ShardIterator"]
    else:
        iterator = client.get_shard_iterator(
            StreamArn=span.stream_arn, ShardId=span.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=span.start,
        )["ShardIterator"]

    def page() -> tuple[list[dict], bool]:
        """One GetRecords page, and whether the shard may have more."""
        nonlocal iterator
        if iterator is None:
            return [], False
        answer = client.get_records(ShardIterator=iterator, Limit=1000)
        iterator = answer.get("NextShardIterator")
        caught_up = kinesis and answer.get("MillisBehindLatest", 0) == 0
        return answer.get("Records", []), iterator is not None and not (caught_up and not answer.get("Records"))

    return page


def _within(span: StreamRange, page: Callable[[], tuple[list[dict], bool]]) -> list[dict]:
    kinesis, end = span.kind == KINESIS_BATCH, int(span.end)
    found: list[dict] = []
    empty = 0
    while empty < MAX_EMPTY_PAGES:
        records, more = page()
        for record in records:
            if _sequence(record, kinesis) > end:
                return found
            found.append(record)
        if not more:
            return found
        empty = 0 if records else empty + 1
    return found


def _sequence(record: dict, kinesis: bool) -> int:
    return int(record["SequenceNumber"] if kinesis else record["dynamodb"]["SequenceNumber"])


def _kinesis_record(span: StreamRange, record: dict) -> dict:
    sequence = record["SequenceNumber"]
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": sequence,
            "data": base64.b64encode(record["Data"]).decode("ascii"),
            "approximateArrivalTimestamp": _epoch(record.get("ApproximateArrivalTimestamp")),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{span.shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "awsRegion": span.region,
        "eventSourceARN": span.stream_arn,
    }


def _dynamodb_record(span: StreamRange, record: dict) -> dict:
    change = dict(record["dynamodb"])
    if "ApproximateCreationDateTime" in change:
        change["ApproximateCreationDateTime"] = _epoch(change["ApproximateCreationDateTime"])
    shaped = {key: value for key, value in record.items() if key != "dynamodb"}
    shaped["dynamodb"] = _lambda_json(change)
    shaped["eventSourceARN"] = span.stream_arn
    shaped.setdefault("eventSource", "aws:dynamodb")
    return shaped


def _lambda_json(value: Any) -> Any:
    """botocore's parsed answer -> Lambda's JSON: binary attribute values as base64 text."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: _lambda_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lambda_json(item) for item in value]
    return value


def _epoch(value: Any) -> Any:
    return value.timestamp() if isinstance(value, datetime) else value
