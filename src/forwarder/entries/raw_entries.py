"""SourceRecord -> PutRawEvents entry (EVENT_PAYLOAD=raw): the payload as Data, its content type, its metadata.

`Data` is the record's payload byte for byte as its producer wrote it: the SQS body, the SNS notification's
Message, the Kinesis data decoded from base64 (of each user record inside a KPL aggregate); for DynamoDB
Streams, the change as plain JSON (records/dynamodb.py), since a stream has no payload of its own.

`SystemMetadata.ContentType`, the first that applies:
1. RAW_CONTENT_TYPE_PATH, a JMESPath over the record view (records/view.py): a string PutRawEvents takes
   (`application/...`, at most 256 characters); null or empty, or a result it would refuse, falls back
   (the latter counted, as the shaping expressions' fallbacks are);
2. RAW_CONTENT_TYPE, when set;
3. detected: a CloudEvent in structured mode (a JSON object with `specversion`) is
   `application/cloudevents+json`, other JSON `application/json`, anything else `application/octet-stream`.

`Metadata`: RAW_METADATA, a JMESPath object over the record view, when set and it gives one; else the
record's message attributes (SQS's, and an SNS notification's carried in the body), String and Number
values as their text. What the model does not take (a binary value, a key with `/` or over 128 characters,
an empty value, past the 100th pair) is left out and counted, never failing the record. EVENT_FILTER
applies as in JSON mode (shaping.py's rules). The target (targets.RawBus) adds the deduplication id and
event group, and sends; an entry too large for any request is claim checked (stages/claim_check.py) or fails alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from forwarder.core.codes import DEADLINE_EXCEEDED, INVALID_RECORD, NOT_READ
from forwarder.core.items import Entry, Filtered, Rejected
from forwarder.entries.json_entries import dump_json
from forwarder.entries.raw_format import (
    content_type_problem,
    detected_content_type,
    metadata_limit,
    payload_bytes,
)
from forwarder.entries.shaping import Failed, filter_verdict, search
from forwarder.records.record import SourceRecord
from forwarder.records.view import record_view

if TYPE_CHECKING:
    from jmespath.parser import ParsedResult

    from forwarder.config.raw_settings import RawPayload
    from forwarder.config.settings import Settings
    from forwarder.targets.target import Target

class RawShaping:
    """Raw mode's expressions, compiled by Settings; `for_batch` gives each batch a `RawShaper`."""

    def __init__(self, raw: RawPayload, keep: ParsedResult | None):
        self.raw = raw
        self.keep = keep
        self.needs_view = any(path is not None for path in (keep, raw.content_type_path, raw.metadata_path))

    @classmethod
    def from_settings(cls, settings: Settings) -> RawShaping:
        return cls(settings.raw, settings.filter_path)

    def for_batch(self) -> RawShaper:
        return RawShaper(self)


class RawShaper:
    """One batch's raw entries; `fallbacks` counts (variable, reason) for what fell back or was left out."""

    def __init__(self, shaping: RawShaping):
        self._shaping = shaping
        self.fallbacks: Counter[tuple[str, str]] = Counter()

    def entry(self, record: SourceRecord, target: Target, fallback_trace: str | None) -> Entry | Rejected | Filtered:
        shaping, raw = self._shaping, self._shaping.raw
        view = record_view(record) if shaping.needs_view else None
        if shaping.keep is not None and (left_out := filter_verdict(shaping.keep, view, record.group)):
            return left_out
        content_type = (self._content_type_found(raw.content_type_path, view) or raw.content_type
                        or detected_content_type(record.body))
        fields: dict[str, Any] = {"Data": payload_bytes(record.body), "SystemMetadata": {"ContentType": content_type}}
        metadata = self._metadata(record, raw.metadata_path, view)
        if metadata:
            fields["Metadata"] = metadata
        group = target.complete(fields, record, fallback_trace)
        return Entry(fields, target.entry_size(fields), group)

    def _fell_back(self, variable: str, reason: str) -> None:
        self.fallbacks[(variable, reason)] += 1

    def _content_type_found(self, path: ParsedResult | None, view: dict | None) -> str | None:
        if path is None:
            return None
        found = search(path, view)
        if found is None or found == "":
            return None
        if isinstance(found, Failed):
            self._fell_back("RAW_CONTENT_TYPE_PATH", f"the expression raised {found.reason}")
            return None
        problem = content_type_problem(found)
        if problem:
            self._fell_back("RAW_CONTENT_TYPE_PATH", problem)
            return None
        return found

    def _metadata(self, record: SourceRecord, path: ParsedResult | None, view: dict | None) -> dict[str, str]:
        if path is not None:
            found = search(path, view)
            if isinstance(found, dict) and found:
                return self._fitting("RAW_METADATA", _texts(found, self._fell_back))
            if isinstance(found, Failed):
                self._fell_back("RAW_METADATA", f"the expression raised {found.reason}")
            elif found not in (None, {}, "", []):
                self._fell_back("RAW_METADATA", "not an object")
        return self._fitting("message attributes", attribute_texts(record, self._fell_back))

    def _fitting(self, variable: str, pairs: dict[str, str]) -> dict[str, str]:
        """The pairs the model takes, in key order up to its most; the others left out and counted."""
        kept: dict[str, str] = {}
        limit = metadata_limit()
        for key in sorted(pairs):
            problem = limit.key.problem("a Metadata key", key) or limit.value.problem("its value", pairs[key])
            if problem:
                self._fell_back(variable, f"left out: {problem}")
            elif len(kept) >= limit.high:
                self._fell_back(variable, f"left out: more than {limit.high:g} Metadata pairs")
            else:
                kept[key] = pairs[key]
        return kept


def build_raw_entry(
    record: SourceRecord, settings: Settings, target: Target, fallback_trace: str | None, shaper: RawShaper
) -> Entry | Rejected | Filtered:
    """entries.build_entry's counterpart in raw mode (the forwarder chooses one of them at cold start)."""
    if record.unread:
        return Rejected(DEADLINE_EXCEEDED, NOT_READ, record.group)
    if record.problem:
        return Rejected(INVALID_RECORD, record.problem, record.group)
    return shaper.entry(record, target, fallback_trace)


def attribute_texts(record: SourceRecord, left_out: Any) -> dict[str, str]:
    """The record's message attributes as text: an SNS notification's (in the SQS body) and the SQS
    message's own (SNS raw delivery puts them there), the latter winning. Binary values are left out."""
    pairs: dict[str, str] = {}
    envelope = record.envelope or {}
    for name, attribute in _mapping(envelope.get("MessageAttributes")).items():
        kind, value = _mapping(attribute).get("Type"), _mapping(attribute).get("Value")
        _add(pairs, name, kind, value, left_out)
    for name, attribute in _mapping((record.raw or {}).get("messageAttributes")).items():
        attribute = _mapping(attribute)
        _add(pairs, name, attribute.get("dataType"), attribute.get("stringValue"), left_out)
    return pairs


def _add(pairs: dict[str, str], name: Any, kind: Any, value: Any, left_out: Any) -> None:
    if isinstance(kind, str) and kind.startswith("Binary"):
        left_out("message attributes", "left out: a binary attribute")
    elif isinstance(name, str) and isinstance(value, str):
        pairs[name] = value
    else:
        left_out("message attributes", "left out: an attribute without a string value")


def _texts(found: dict, left_out: Any) -> dict[str, str]:
    """An expression's object as text pairs: strings as they are, numbers and booleans as JSON text."""
    pairs: dict[str, str] = {}
    for key, value in found.items():
        if isinstance(value, str):
            pairs[key] = value
        elif isinstance(value, bool | int | float):
            try:
                pairs[key] = dump_json(value)
            except ValueError:  # NaN or Infinity, which a JMESPath sum can make
                left_out("RAW_METADATA", "left out: a number that is not finite")
        elif value is not None:
            left_out("RAW_METADATA", "left out: a value that is not a string, number or boolean")
    return pairs


def _mapping(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}
