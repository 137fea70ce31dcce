"""SourceRecord -> PutEvents entry: the fields every target shares, and the Detail wrapping rules.

Detail must be a JSON object that EventBridge accepts. A body that already is one is passed on
as the very text it arrived in (no parse-and-dump round trip); anything else is wrapped, never
dropped: `{"data": <JSON value or text>}`, or `{"dataBase64": ...}` for bytes that are not UTF-8.
When shaping expressions are set (shaping.py), what they give replaces the configured or the record's own
fields; a record EVENT_FILTER leaves out becomes `Filtered`, never an entry.

The target (targets.py) adds the fields only it takes and counts the entry's size; the limits of its
service model (limits.py) are checked only on the fields a record can push past them (the others are
bounded by Settings or by construction), so a normal record pays nothing. A record that breaks one is
refused alone, as InvalidArgument, the code EventBridge gives a malformed entry.
"""

from __future__ import annotations

import json
import math
from base64 import b64encode
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from forwarder.settings import Settings

if TYPE_CHECKING:  # the record readers import Powertools: the library (bulk.py) goes without them
    from forwarder.records import SourceRecord
    from forwarder.shaping import Shaper
    from forwarder.targets import Target

MAX_DETAIL_DEPTH = 1000  # EventBridge rejects a Detail nested deeper (MalformedDetail)
_INT64 = range(-(2**63), 2**63)
_TIME_BYTES = 14  # AWS counts a set Time as 14 bytes
INVALID_RECORD = "InvalidRecord"
INVALID_ARGUMENT = "InvalidArgument"  # the code EventBridge itself gives a malformed entry


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


@dataclass(slots=True)
class Filtered:
    """A record EVENT_FILTER left out: settled as done at once, never sent, and it holds back no group."""

    group: None = None


@dataclass(frozen=True, slots=True)
class Shaped:
    """What the shaping expressions gave for one record (shaping.py); None: the configured or the record's own."""

    source: str | None = None
    detail_type: str | None = None
    detail: str | None = None  # the Detail text
    resources: tuple[str, ...] | None = None
    time: datetime | None = None


UNSHAPED = Shaped()  # no expression set: built once, so that such a forwarder pays nothing per record


def build_entry(
    record: SourceRecord,
    settings: Settings,
    target: Target,
    fallback_trace: str | None,
    shaper: Shaper | None = None,
) -> Entry | Rejected | Filtered:
    """`shaper` (shaping.py) is given when some expression is set; without it no record view is built."""
    if record.problem:
        return Rejected(INVALID_RECORD, record.problem, record.group)
    shaped = UNSHAPED if shaper is None else shaper.shape(record, target.rules)
    if not isinstance(shaped, Shaped):
        return shaped  # filtered, or an expression failed on this record
    rules = target.rules
    fields: dict[str, Any] = {
        "Source": shaped.source or settings.source,
        "DetailType": shaped.detail_type or settings.detail_type,
        "Detail": to_detail(record.body)[0] if shaped.detail is None else shaped.detail,
    }
    moment = shaped.time or (None if record.time is None else event_time(record.time))
    if moment is not None:
        fields["Time"] = moment
    resources = record.resources if shaped.resources is None else shaped.resources
    if resources:
        # The one field a record can push past the model's limits: the service would refuse the whole request.
        # Lengths only (records hold ARNs as strings): the full check runs just to say what is wrong.
        resources = list(resources)
        if len(resources) > rules.resource_items or max(map(len, resources)) > rules.resource_chars:
            return Rejected(INVALID_ARGUMENT, str(rules.member_problem("Resources", resources)), record.group)
        fields["Resources"] = resources
    group = target.complete(fields, record, fallback_trace)
    return Entry(fields, target.entry_size(fields), group)


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
    return size


def utf8_length(text: str) -> int:
    # surrogatepass: a lone surrogate still has a size (botocore sends it \u-escaped).
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def to_detail(body: str | bytes | None) -> tuple[str, dict | None]:
    """Return the Detail text and, when the body is a JSON object, its parsed value."""
    if isinstance(body, bytes):
        return dump_json({"dataBase64": b64encode(body).decode("ascii")}), None
    if body is None:
        return dump_json({"data": None}), None
    text = body[1:] if body.startswith("\ufeff") else body
    try:
        value = parse_json(text)
    except (ValueError, RecursionError):
        return dump_json({"data": body}), None
    if _too_deep(value, text, extra=0 if isinstance(value, dict) else 1):
        return dump_json({"data": body}), None
    if isinstance(value, dict):
        return text, value
    return dump_json({"data": value}), None


def object_detail(body: str | bytes | None, value: Any) -> str | None:
    """The Detail text of a body already parsed to `value` (the record view's), when it is a JSON object that
    goes on as it came: what `to_detail` would give, without parsing the body a second time."""
    if not (isinstance(value, dict) and isinstance(body, str)):
        return None
    text = body[1:] if body.startswith("\ufeff") else body
    return None if _too_deep(value, text, extra=0) else text


def parse_json(text: str) -> Any:
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


def dump_json(value: Any) -> str:
    """Compact JSON as Detail holds it; raises ValueError on NaN or Infinity (which a JMESPath sum can make)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
