"""SourceRecord -> PutEvents entry, with its size by AWS's formula and the Detail wrapping rules.

Detail must be a JSON object that EventBridge accepts. A body that already is one is passed on
as the very text it arrived in (no parse-and-dump round trip); anything else is wrapped, never
dropped: `{"data": <JSON value or text>}`, or `{"dataBase64": ...}` for bytes that are not UTF-8.

An entry that breaks a limit botocore's service model states for PutEventsRequestEntry (a length,
a type, a pattern, a Time botocore could not send) would make the service, or botocore, refuse its
whole request: it is refused alone instead, as InvalidArgument, the code EventBridge gives a
malformed entry. `EntryRules` holds those limits, read from the model itself; `bulk.prepare` checks
every field of a caller's entry against them, `build_entry` only the fields a record can push past
them (the others are bounded by Settings or by construction), so a normal record pays nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import botocore.loaders
import botocore.model
from botocore.utils import parse_to_aware_datetime
from jmespath.parser import ParsedResult

from forwarder.records import SourceRecord
from forwarder.settings import Settings

MAX_DETAIL_DEPTH = 1000  # EventBridge rejects a Detail nested deeper (MalformedDetail)
MAX_DETAIL_TYPE_CHARS = 128  # the API reference's limit (the events model states none; eventbridgev2's does)
MAX_ID_CHARS = 128  # Custom Event Bus EventGroupId and DeduplicationId
_INT64 = range(-(2**63), 2**63)
_TIME_BYTES = 14  # AWS counts a set Time as 14 bytes
INVALID_RECORD = "InvalidRecord"
INVALID_ARGUMENT = "InvalidArgument"  # the code EventBridge itself gives a malformed entry
logger = logging.getLogger(__name__)


# -- the limits botocore's service model states for an entry ---------------------------------------


# What botocore's validator takes for the model types an entry has (timestamps and structures apart).
_PYTHON_TYPES = {"string": str, "list": list | tuple}


@dataclass(frozen=True, slots=True)
class Limit:
    """One member of an entry shape: its model type and what the model bounds (lengths, a pattern)."""

    kind: str  # the shape's type_name: string, list, structure, timestamp
    low: int = 0
    high: float = math.inf
    pattern: re.Pattern | None = None
    member: Limit | None = None  # of a list
    members: Mapping[str, Limit] = field(default_factory=dict)  # of a structure

    @classmethod
    def of(cls, shape: botocore.model.Shape) -> Limit:
        meta = shape.metadata
        pattern = meta.get("pattern")
        return cls(
            kind=shape.type_name,
            low=meta.get("min", 0),
            high=meta.get("max", math.inf),
            # The service matches the whole value (botocore checks no pattern; the service then refuses the request).
            pattern=re.compile(pattern) if pattern else None,
            member=cls.of(shape.member) if shape.type_name == "list" else None,
            members={n: cls.of(s) for n, s in shape.members.items()} if shape.type_name == "structure" else {},
        )

    def problem(self, name: str, value: Any) -> str | None:
        """What is wrong with `value` for this member, or None; never raises."""
        if self.kind == "timestamp":
            return _time_problem(name, value)
        if self.kind == "structure":
            return _structure_problem(name, value, self.members)
        expected = _PYTHON_TYPES.get(self.kind)
        if expected is None or not isinstance(value, expected):  # a kind not known here is refused, never let by
            return f"{name} must be a {self.kind}"
        if len(value) < self.low:
            return f"{name} must not be empty" if self.low == 1 else f"{name} is shorter than {self.low}"
        if len(value) > self.high:
            unit = "characters" if self.kind == "string" else "items"
            return f"{name} is longer than {self.high} {unit}"
        if self.pattern is not None and not self.pattern.fullmatch(value):
            return f"{name} does not match the pattern {self.pattern.pattern!r}"
        if self.member is not None:
            return next(filter(None, (self.member.problem(f"{name}[{i}]", item) for i, item in enumerate(value))), None)
        return None


class EntryRules:
    """The limits of one service's PutEventsRequestEntry, derived from botocore's model of it."""

    def __init__(self, shape: botocore.model.StructureShape):
        self.members = {name: Limit.of(member) for name, member in shape.members.items()}
        limit = self.members.get
        # What build_entry needs where a record can exceed it (Source and DetailType overrides, trace headers).
        self.source_chars = limit("Source", Limit("string")).high
        self.detail_type_chars = min(MAX_DETAIL_TYPE_CHARS, limit("DetailType", Limit("string")).high)
        self.trace_chars = limit("TraceHeader", Limit("string")).high
        resources = limit("Resources", Limit("list", member=Limit("string")))
        self.resource_items, self.resource_chars = resources.high, resources.member.high

    def problem(self, fields: Mapping[str, Any]) -> str | None:
        """Every field against the model: what is wrong with the entry, or None."""
        return _structure_problem("entry", fields, self.members)

    def member_problem(self, name: str, value: Any) -> str | None:
        return self.members[name].problem(name, value)


@functools.cache
def entry_rules(service: str) -> EntryRules:
    """The rules of `events` (classic buses) or `eventbridgev2` (Custom Event Bus), read once per process.

    Through botocore's loader (the same data files a session reads, without building a session).
    """
    model = botocore.model.ServiceModel(botocore.loaders.create_loader().load_service_model(service, "service-2"))
    return EntryRules(model.operation_model("PutEvents").input_shape.members["Entries"].member)


def _structure_problem(name: str, value: Any, members: Mapping[str, Limit]) -> str | None:
    if not isinstance(value, Mapping):
        return f"{name} must be an object"
    unknown = sorted(str(key) for key in value if key not in members)
    if unknown:
        return f"unknown field(s) {unknown} in {name}; it takes {sorted(members)}"
    for key, item in value.items():
        problem = members[key].problem(key if name == "entry" else f"{name}.{key}", item)
        if problem:
            return problem
    return None


def utc_time(value: Any) -> datetime:
    """A Timestamp as botocore (and so the AWS CLI) reads it, as an aware UTC datetime; ValueError if none.

    botocore.utils.parse_to_aware_datetime: a datetime (naive means UTC), epoch seconds as a number or as a
    string ("1412195400"), or ISO 8601 / RFC 3339 text in any case ("2014-10-01t20:30:00.000z"), read by
    dateutil. Refused here too: what botocore would fail to send (beyond a datetime's years 1 to 9999 in
    UTC, which its serializer raises on), and booleans, which are not times.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    try:
        return parse_to_aware_datetime(value).astimezone(UTC)
    # dateutil and datetime raise all of these on odd input; RuntimeError: epoch seconds beyond any datetime.
    except (ValueError, TypeError, AttributeError, OverflowError, OSError, RuntimeError) as error:
        raise ValueError(f"{type(error).__name__}: {error}") from None


def _time_problem(name: str, value: Any) -> str | None:
    try:
        utc_time(value)
    except ValueError as error:
        return f"{name} {_shown(value)} is not a timestamp (RFC 3339, or epoch seconds) botocore can send: {error}"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


CLASSIC_RULES = entry_rules("events")


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
    custom_bus = settings.custom_bus
    rules = entry_rules("eventbridgev2") if custom_bus else CLASSIC_RULES
    detail, value = to_detail(record.body)
    fields: dict[str, Any] = {
        "Source": _override(settings.source_path, value, settings.source, rules.source_chars),
        "DetailType": _override(settings.detail_type_path, value, settings.detail_type, rules.detail_type_chars),
        "Detail": detail,
    }
    moment = None if record.time is None else event_time(record.time)
    if moment is not None:
        fields["Time"] = moment
    if record.resources:
        # The one field a record can push past the model's limits: the service would refuse the whole request.
        # Lengths only (records hold ARNs as strings): the full check runs just to say what is wrong.
        resources = list(record.resources)
        if len(resources) > rules.resource_items or max(map(len, resources)) > rules.resource_chars:
            return Rejected(INVALID_ARGUMENT, str(rules.member_problem("Resources", resources)), record.group)
        fields["Resources"] = resources
    if custom_bus:
        group = _custom_bus_fields(fields, record, settings.event_groups)
    else:
        group = record.group
        fields["EventBusName"] = settings.event_bus_name
        trace = record.trace_header or fallback_trace
        if trace and len(trace) <= rules.trace_chars:  # a longer one is dropped: it only carries tracing
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


def _override(path: ParsedResult | None, value: dict | None, default: str, max_chars: float) -> str:
    """A per-record Source or DetailType from the body, when the expression yields a usable string."""
    if path is None or value is None:
        return default
    try:
        found = path.search(value)
    except Exception as error:  # noqa: BLE001 - any body, any expression: a JMESPath function's type error,
        # recursion on a deep value, whatever it raises: this record gets the configured value, the rest go on.
        logger.debug("%s failed on a body (%s); the configured value is used", path.expression, type(error).__name__)
        return default
    if isinstance(found, str) and found.strip() and len(found) <= max_chars:
        return found
    return default
