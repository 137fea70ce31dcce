"""SourceRecord -> PutEvents entry: the fields every target shares, and the Detail wrapping rules.

Detail must be a JSON object that EventBridge accepts. A body that already is one is passed on
as the very text it arrived in (no parse-and-dump round trip); anything else is wrapped, never
dropped: `{"data": <JSON value or text>}`, or `{"dataBase64": ...}` for bytes that are not UTF-8.
When shaping expressions are set (shaping.py), what they give replaces the configured or the record's own
fields; a record EVENT_FILTER leaves out becomes `Filtered`, never an entry.

The target (targets/buses.py) adds the fields only it takes and counts the entry's size; the limits of its
service model (targets/limits.py) are checked only on the fields a record can push past them (the others are
bounded by Settings or by construction), so a normal record pays nothing. A record that breaks one is
refused alone, as InvalidArgument, the code EventBridge gives a malformed entry.
"""

from __future__ import annotations

import json
import math
import re
import time
from base64 import b64encode
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from forwarder.config.settings import Settings
from forwarder.core.codes import DEADLINE_EXCEEDED, INVALID_ARGUMENT, INVALID_RECORD, NOT_PREPARED, NOT_READ
from forwarder.core.fast_json import JSON_READS, digits_as_zeros, dumps_record, loads, orjson_loads
from forwarder.core.items import Entry, Filtered, Rejected, Shaped
from forwarder.entries.detail_limits import MAX_DETAIL_DEPTH, refusal

if TYPE_CHECKING:  # the record readers import Powertools: the library (library/bulk.py) goes without them
    from forwarder.records.record import SourceRecord
    from forwarder.targets.limits import EntryRules
    from forwarder.targets.target import Target


class Shaper(Protocol):
    """What `build_entry` asks of a batch's shaping (entries/shaping.py)."""

    def shape(self, record: SourceRecord, rules: EntryRules) -> Shaped | Filtered | Rejected: ...


UNSHAPED = Shaped()  # no expression set: built once, so that such a forwarder pays nothing per record


def build_entries(
    records: list[SourceRecord],
    settings: Settings,
    target: Target,
    fallback_trace: str | None,
    shaper: Any = None,
    deadline: float = math.inf,
    build: Callable[..., Entry | Rejected | Filtered] | None = None,
) -> list[Entry | Rejected | Filtered]:
    """`build` (`build_entry`, or raw mode's `raw_entries.build_raw_entry`) for each record until `deadline`
    (time.monotonic()'s time line), as the publisher stops there: a record not reached by then is refused as
    DeadlineExceeded, so it is reported, never lost."""
    build = build or build_entry
    items: list[Entry | Rejected | Filtered] = []
    for record in records:
        if time.monotonic() >= deadline:
            items.extend(Rejected(DEADLINE_EXCEEDED, NOT_PREPARED, late.group) for late in records[len(items):])
            break
        items.append(build(record, settings, target, fallback_trace, shaper))
    return items


def build_entry(
    record: SourceRecord,
    settings: Settings,
    target: Target,
    fallback_trace: str | None,
    shaper: Shaper | None = None,
) -> Entry | Rejected | Filtered:
    """`shaper` (shaping.py) is given when some expression is set; without it no record view is built."""
    if record.unread:
        return Rejected(DEADLINE_EXCEEDED, NOT_READ, record.group)
    if record.problem:
        return Rejected(INVALID_RECORD, record.problem, record.group)
    shaped = UNSHAPED if shaper is None else shaper.shape(record, target.rules)
    if not isinstance(shaped, Shaped):
        return shaped  # filtered, or an expression failed on this record
    rules = target.rules
    fields: dict[str, Any] = {
        "Source": shaped.source or settings.source,
        "DetailType": shaped.detail_type or settings.detail_type,
        "Detail": to_detail(record.body) if shaped.detail is None else shaped.detail,
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


def to_detail(body: str | bytes | None) -> str:
    """The Detail text of a record's body: the body itself when it is a JSON object EventBridge accepts."""
    if isinstance(body, bytes):
        return dump_json({"dataBase64": b64encode(body).decode("ascii")})
    if body is None:
        return dump_json({"data": None})
    text = body[1:] if body.startswith("\ufeff") else body
    zeros = digits_as_zeros(text)  # made once, for the parse and for the refusal's number check
    value = orjson_loads(text, zeros)
    if value is not JSON_READS and len(text) < MAX_DETAIL_DEPTH:
        # Nothing EventBridge refuses (detail_limits): orjson reads no number JSON or int64 cannot hold, and a
        # text this short cannot nest past the limit, even wrapped. The usual body: no refusal's passes over it.
        return text if isinstance(value, dict) else dump_json({"data": value})
    try:
        value = loads(text, zeros) if value is JSON_READS else value
    except (ValueError, RecursionError):
        return dump_json({"data": body})
    return _detail(body, text, value, zeros)


def parsed_detail(body: str | bytes | None, value: Any) -> str | None:
    """What `to_detail` gives for a body the record view (records/view.py) parsed to `value` already, without parsing
    it again; None when that cannot be told from `value` (a string: a JSON string, or no JSON at all)."""
    if not isinstance(body, str) or isinstance(value, str):
        return None
    return _detail(body, body[1:] if body.startswith("\ufeff") else body, value)


def _detail(body: str, text: str, value: Any, zeros: bytes | None = None) -> str:
    """`text` (the body without its BOM) read as `value`: itself if an object, else wrapped; the body as text
    when EventBridge would refuse the value (detail_limits.py), so that the record still goes on."""
    is_object = isinstance(value, dict)
    if refusal(text, 0 if is_object else 1, zeros):
        return dump_json({"data": body})
    return text if is_object else dump_json({"data": value})


def parse_json(text: str) -> Any:
    """The JSON value of `text`, as Python's reader takes it (big integers, NaN): what EventBridge would refuse
    is decided apart (detail_limits.refusal). An integer past Python's 4,300 digits is read as a float (as a
    JavaScript reader does), so that such a body is still a value."""
    try:
        return loads(text)
    except ValueError:
        if not _MANY_DIGITS.search(text):
            raise
    return _BIG_NUMBERS.decode(text)


_MANY_DIGITS = re.compile(r"[0-9]{4300}")
_BIG_NUMBERS = json.JSONDecoder(parse_int=float)


def dump_json(value: Any) -> str:
    """Compact JSON as Detail holds it; raises ValueError on NaN or Infinity (which a JMESPath sum can make).
    By orjson where it writes the same text (a wrapper of text or a number: `{"data": ...}`), a tenth of json's
    CPU (json.dumps with options builds an encoder per call)."""
    written = dumps_record(value)
    if written is not None:
        return written.decode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
