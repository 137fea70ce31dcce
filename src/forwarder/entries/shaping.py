"""The shaping expressions: the record view (records/view.py) -> Source, DetailType, Detail, Resources, Time, and
the filter.

Every expression is JMESPath over the same view, compiled once at cold start by Settings (a bad one fails
the cold start, naming its variable). `Shaping.from_settings` is None when none is set: the forwarder then
builds no view and pays nothing per record. Otherwise each batch gets a `Shaper`, which also counts the
fallbacks below, so that the report logs them once per kind instead of once per record.

Whatever an expression yields for one record, the batch goes on. The rules, documented in docs/records.md:
- EVENT_FILTER: false or null leaves the record out (done, never redelivered); anything else keeps it.
- EVENT_SOURCE_PATH, EVENT_DETAIL_TYPE_PATH, EVENT_RESOURCES, EVENT_TIME: null or empty means the configured
  (or the record's own) value; a result that cannot be used (wrong type, too long, not a time, a Source
  with AWS's own `aws.` prefix) or an expression that raises falls back to it too, and is counted as a
  fallback.
- EVENT_DETAIL and EVENT_FILTER have no value to fall back on that is safe (the whole body may hold what
  the expression was written to leave out; a record the filter could not judge may be one it drops), so an
  expression that raises or a Detail EventBridge would refuse fails that record alone as ShapingFailed,
  which the quarantine takes as poison. Any JSON value that is not an object is wrapped as `{"data": ...}`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jmespath.parser import ParsedResult

from forwarder.config.settings import MAX_SOURCE_CHARS, RESERVED_SOURCE_PREFIX, Settings
from forwarder.core.codes import SHAPING_FAILED
from forwarder.core.items import Filtered, Rejected, Shaped
from forwarder.entries.detail_limits import DEEPER, refusal
from forwarder.entries.json_entries import event_time, parsed_detail
from forwarder.records.record import SourceRecord
from forwarder.records.view import record_view
from forwarder.targets.limits import EntryRules


class Failed:
    """An expression raised on a record: the exception's type only, never the record's content."""

    __slots__ = ("reason",)

    def __init__(self, error: Exception):
        self.reason = type(error).__name__


@dataclass(frozen=True, slots=True)
class Shaping:
    """The compiled expressions of one configuration; None stands for one that is not set."""

    source: ParsedResult | None
    detail_type: ParsedResult | None
    detail: ParsedResult | None
    resources: ParsedResult | None
    time: ParsedResult | None
    keep: ParsedResult | None  # EVENT_FILTER

    @classmethod
    def from_settings(cls, settings: Settings) -> Shaping | None:
        shaping = cls(settings.source_path, settings.detail_type_path, settings.detail_path,
                      settings.resources_path, settings.time_path, settings.filter_path)
        return shaping if any(getattr(shaping, name) for name in cls.__slots__) else None

    def for_batch(self) -> Shaper:
        return Shaper(self)


class Shaper:
    """One batch's shaping; `fallbacks` counts (variable, reason) for the records that fell back."""

    def __init__(self, shaping: Shaping):
        self._shaping = shaping
        self.fallbacks: Counter[tuple[str, str]] = Counter()

    def shape(self, record: SourceRecord, rules: EntryRules) -> Shaped | Filtered | Rejected:
        shaping, view = self._shaping, record_view(record)
        if shaping.keep is not None and (left_out := filter_verdict(shaping.keep, view, record.group)):
            return left_out
        if shaping.detail is None:
            # The body is Detail: as the view parsed it already, it is not parsed again.
            detail = parsed_detail(record.body, view["body"])
        else:
            detail, problem = _detail(shaping.detail, view)
            if problem:
                return Rejected(SHAPING_FAILED, f"EVENT_DETAIL {problem}", record.group)
        return Shaped(
            source=self._source(shaping.source, view, rules),
            detail_type=self._text(shaping.detail_type, view, "EVENT_DETAIL_TYPE_PATH", rules.detail_type_chars),
            detail=detail,
            resources=self._resources(shaping.resources, view, rules),
            time=self._time(shaping.time, view),
        )

    def _fell_back(self, variable: str, reason: str) -> None:
        self.fallbacks[(variable, reason)] += 1

    def _source(self, path: ParsedResult | None, view: dict, rules: EntryRules) -> str | None:
        """A string, within EVENT_SOURCE's own limits: EventBridge would refuse it on every delivery otherwise."""
        found = self._text(path, view, "EVENT_SOURCE_PATH", min(rules.source_chars, MAX_SOURCE_CHARS))
        if found is not None and found.startswith(RESERVED_SOURCE_PREFIX):
            self._fell_back("EVENT_SOURCE_PATH", f"starts with {RESERVED_SOURCE_PREFIX!r}, kept for AWS")
            return None
        return found

    def _text(self, path: ParsedResult | None, view: dict, variable: str, max_chars: float) -> str | None:
        found = _found(path, view)
        if found is None:
            return None
        if isinstance(found, Failed):
            self._fell_back(variable, f"the expression raised {found.reason}")
        elif not isinstance(found, str):
            self._fell_back(variable, f"not a string but {_kind(found)}")
        elif len(found) > max_chars:
            self._fell_back(variable, f"longer than {max_chars:g} characters")
        elif found.strip():
            return found
        return None

    def _resources(self, path: ParsedResult | None, view: dict, rules: EntryRules) -> tuple[str, ...] | None:
        found = _found(path, view)
        if found is None:
            return None
        if isinstance(found, Failed):
            reason = f"the expression raised {found.reason}"
        elif not (isinstance(found, list) and all(isinstance(item, str) and item for item in found)):
            reason = "not a list of non-empty strings"
        elif len(found) > rules.resource_items:
            reason = f"more than {rules.resource_items:g} items"
        elif max(map(len, found)) > rules.resource_chars:
            reason = f"an item longer than {rules.resource_chars:g} characters"
        else:
            return tuple(found)
        self._fell_back("EVENT_RESOURCES", reason)
        return None

    def _time(self, path: ParsedResult | None, view: dict) -> datetime | None:
        found = _found(path, view)
        if found is None:
            return None
        failed = isinstance(found, Failed)
        moment = None if failed else _moment(found)
        if moment is None:
            reason = f"the expression raised {found.reason}" if failed else "not an RFC 3339 time or epoch seconds"
            self._fell_back("EVENT_TIME", reason)
        return moment


def filter_verdict(keep: ParsedResult, view: dict, group: str | None) -> Filtered | Rejected | None:
    """EVENT_FILTER on one record: None to keep it, Filtered when false or null, Rejected when it failed (in JSON
    mode and raw mode alike)."""
    kept = search(keep, view)
    if isinstance(kept, Failed):
        return Rejected(SHAPING_FAILED, f"EVENT_FILTER failed on this record: {kept.reason}", group)
    if kept is None or kept is False:
        return Filtered()
    return None


def search(path: ParsedResult, view: dict) -> Any:
    try:
        return path.search(view)
    except Exception as error:  # noqa: BLE001 - any record, any expression: a JMESPath function's type error,
        # recursion on a deep value, whatever it raises fails this expression for this record alone.
        return Failed(error)


def _found(path: ParsedResult | None, view: dict) -> Any:
    """The expression's result, None when unset, null or empty (the configured value then stands)."""
    if path is None:
        return None
    found = search(path, view)
    return None if found in ("", []) else found


def _detail(path: ParsedResult, view: dict) -> tuple[str | None, str | None]:
    """The Detail text, or the problem with it."""
    found = search(path, view)
    if isinstance(found, Failed):
        return None, f"failed on this record: {found.reason}"
    value = found if isinstance(found, dict) else {"data": found}
    try:
        # NaN and Infinity written as such, so that the check on the text below names them.
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:  # nested far past EventBridge's depth
        return None, f"gave a Detail EventBridge refuses: {DEEPER}"
    problem = refusal(text)
    if problem:
        return None, f"gave a Detail EventBridge refuses: {problem}"
    return text, None


def _moment(value: Any) -> datetime | None:
    """An RFC 3339 time with its offset, or epoch seconds, as an aware UTC datetime; else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return event_time(value) if math.isfinite(value) and value >= 0 else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
        return moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
