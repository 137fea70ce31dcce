"""DynamoDB Streams records: the change (event name, keys, the images the stream carries) as plain JSON."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from forwarder.records.record import EventError, SourceRecord, identifier, seconds

_INT64 = range(-(2**63), 2**63)


def dynamodb_item_id(raw: dict, index: int) -> str:
    change = raw.get("dynamodb")
    if not isinstance(change, dict):
        raise EventError(f"record {index} has no 'dynamodb' object")
    return identifier(change, "SequenceNumber", index)


def dynamodb_records(raw: dict, index: int) -> list[SourceRecord]:
    # Imported on the first DynamoDB record: Powertools' data classes package costs every cold start about 8 ms.
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import StreamRecord

    item_id = dynamodb_item_id(raw, index)
    change = raw["dynamodb"]
    time = seconds(change.get("ApproximateCreationDateTime"))
    try:
        body = _dynamodb_detail(raw, change, StreamRecord)
    except Exception as error:  # noqa: BLE001 - an image that is not DynamoDB JSON is this record's problem alone
        problem = f"DynamoDB record is not readable as DynamoDB JSON ({type(error).__name__})"
        return [SourceRecord(item_id=item_id, body=None, time=time, problem=problem, raw=raw)]
    return [SourceRecord(item_id=item_id, body=body, time=time, raw=raw)]


def _dynamodb_detail(raw: dict, change: dict, stream_record: type) -> str:
    """Raises on anything boto3's TypeDeserializer cannot read: a bad number, an unknown type, a list for a map."""
    stream = stream_record(change)
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
