"""SourceRecord -> PutEvents entry, with its size by AWS's formula and the Detail wrapping rules.

Detail must be a JSON object that EventBridge accepts. A body that already is one is passed on
as the very text it arrived in (no parse-and-dump round trip); anything else is wrapped, never
dropped: `{"data": <JSON value or text>}`, or `{"dataBase64": ...}` for bytes that are not UTF-8.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from base64 import b64encode
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jmespath.parser import ParsedResult

from forwarder.records import SourceRecord
from forwarder.settings import Settings

MAX_DETAIL_DEPTH = 1000  # EventBridge rejects a Detail nested deeper (MalformedDetail)
MAX_DETAIL_TYPE_CHARS = 128
MAX_TRACE_HEADER_CHARS = 500  # botocore refuses the whole request over this, so it is dropped
MAX_ID_CHARS = 128  # Custom Event Bus EventGroupId and DeduplicationId
_INT64 = range(-(2**63), 2**63)
_TIME_BYTES = 14  # AWS counts a set Time as 14 bytes
INVALID_RECORD = "InvalidRecord"
logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Entry:
    fields: dict  # the PutEventsRequestEntry as boto3 takes it
    size: int  # bytes by AWS's entry-size formula
    group: str | None = None  # entries of one group are confirmed one after another


@dataclass(slots=True)
class Rejected:
    """A record that never becomes an entry; it is reported with this reason."""

    code: str
    message: str
    group: str | None = None


def build_entry(record: SourceRecord, settings: Settings, fallback_trace: str | None) -> Entry | Rejected:
    if record.problem:
        return Rejected(INVALID_RECORD, record.problem, record.group)
    detail, value = to_detail(record.body)
    fields: dict[str, Any] = {
        "Source": _override(settings.source_path, value, settings.source, max_chars=None),
        "DetailType": _override(settings.detail_type_path, value, settings.detail_type, MAX_DETAIL_TYPE_CHARS),
        "Detail": detail,
    }
    moment = None if record.time is None else event_time(record.time)
    if moment is not None:
        fields["Time"] = moment
    if record.resources:
        fields["Resources"] = list(record.resources)
    if settings.custom_bus:
        group = _custom_bus_fields(fields, record, settings.event_groups)
    else:
        group = record.group
        fields["EventBusName"] = settings.event_bus_name
        trace = record.trace_header or fallback_trace
        if trace and len(trace) <= MAX_TRACE_HEADER_CHARS:
            fields["TraceHeader"] = trace
    return Entry(fields, entry_size(fields), group)


def _custom_bus_fields(fields: dict[str, Any], record: SourceRecord, event_groups: bool) -> str | None:
    """SystemMetadata for a Custom Event Bus; returns the group whose order must be kept.

    The bus has no TraceHeader field and takes the bus ARN per request, not per entry.
    """
    metadata = {"DeduplicationId": deduplication_id(record)}
    group = record.group or (record.partition_key if event_groups else None)
    if group and event_groups:
        metadata["EventGroupId"] = group if len(group) <= MAX_ID_CHARS else _digest(group)
    fields["SystemMetadata"] = metadata
    return group


def deduplication_id(record: SourceRecord) -> str:
    """The record's identity at its source, the same on every redelivery, unique per record.

    SQS: queue ARN and messageId; Kinesis: stream ARN, sequence number and, inside a KPL
    aggregate, the sub-sequence; DynamoDB Streams: stream ARN and sequence number. Hashed to
    stay within the API's 128 characters whatever the ARN's length.
    """
    source_arn = (record.raw or {}).get("eventSourceARN", "")
    # A malformed event may carry any JSON value here; its repr is as stable across redeliveries.
    parts = [source_arn if isinstance(source_arn, str) else repr(source_arn), record.item_id]
    if record.sub_sequence is not None:
        parts.append(str(record.sub_sequence))
    return _digest("/".join(parts))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def event_time(seconds: float) -> datetime | None:
    """Epoch seconds as an aware UTC datetime, which botocore sends as it is (the same epoch seconds on
    the wire); a float would be converted through dateutil's local time zone twice per entry, once to
    validate it and once to serialize it. None past what a datetime holds (year 9999, which no AWS
    source stamps): botocore could not send it either, and EventBridge then stamps its own time."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def entry_size(fields: dict) -> int:
    """AWS's "Calculating PutEvents event entry size"; TraceHeader and EventBusName do not count."""
    size = _TIME_BYTES if fields.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        text = fields.get(key)
        if text:
            size += utf8_length(text)
    for resource in fields.get("Resources") or ():
        size += utf8_length(resource)
    # A Custom Event Bus's system metadata is counted too: AWS documents no formula for it, so be safe.
    for value in (fields.get("SystemMetadata") or {}).values():
        size += utf8_length(value)
    return size


def utf8_length(text: str) -> int:
    # surrogatepass: a lone surrogate still has a size (botocore sends it \u-escaped).
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def to_detail(body: str | bytes | None) -> tuple[str, dict | None]:
    """Return the Detail text and, when the body is a JSON object, its parsed value."""
    if isinstance(body, bytes):
        return _dump({"dataBase64": b64encode(body).decode("ascii")}), None
    if body is None:
        return _dump({"data": None}), None
    text = body[1:] if body.startswith("\ufeff") else body
    try:
        value = _strict_loads(text)
    except (ValueError, RecursionError):
        return _dump({"data": body}), None
    if _too_deep(value, text, extra=0 if isinstance(value, dict) else 1):
        return _dump({"data": body}), None
    if isinstance(value, dict):
        return text, value
    return _dump({"data": value}), None


def _strict_loads(text: str) -> Any:
    """json.loads that refuses what EventBridge refuses: NaN/Infinity, non-finite floats, big ints."""
    return _STRICT_DECODER.decode(text)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _int64(digits: str) -> int:
    value = int(digits)
    if value not in _INT64:
        raise ValueError("integer outside int64")
    return value


def _finite_float(digits: str) -> float:
    value = float(digits)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


# Built once: json.loads with hooks builds a new decoder (and scanner) on every call.
_STRICT_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_int64, parse_float=_finite_float)


def _too_deep(value: Any, text: str, extra: int) -> bool:
    # Counting brackets is a cheap upper bound on depth; walk the value only when it could matter.
    if text.count("{") + text.count("[") + extra <= MAX_DETAIL_DEPTH:
        return False
    return _depth(value) + extra > MAX_DETAIL_DEPTH


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _dump(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _override(path: ParsedResult | None, value: dict | None, default: str, max_chars: int | None) -> str:
    """A per-record Source or DetailType from the body, when the expression yields a usable string."""
    if path is None or value is None:
        return default
    try:
        found = path.search(value)
    except Exception as error:  # noqa: BLE001 - any body, any expression: a JMESPath function's type error,
        # recursion on a deep value, whatever it raises: this record gets the configured value, the rest go on.
        logger.debug("%s failed on a body (%s); the configured value is used", path.expression, type(error).__name__)
        return default
    if isinstance(found, str) and found.strip() and (max_chars is None or len(found) <= max_chars):
        return found
    return default
