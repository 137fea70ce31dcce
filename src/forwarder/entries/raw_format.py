"""The PutRawEvents entry's format, apart from any record: the model's limits (read at first need), the
payload's bytes, the detected content type and the size counted against a request's limit.

Kept apart from raw_entries.py (which reads records, and so Powertools) so that the library
(`put_raw_events`) and the targets import botocore alone.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from forwarder.core.sizes import utf8_length
from forwarder.targets.limits import EntryRules, Limit, entry_rules

OCTET_STREAM = "application/octet-stream"
JSON = "application/json"
CLOUDEVENTS_JSON = "application/cloudevents+json"



@functools.cache
def raw_rules() -> EntryRules:
    """PutRawEvents' entry limits, read from the model at first need (a classic bus never loads that model)."""
    return entry_rules("eventbridgev2", "PutRawEvents")


def _content_type_limit() -> Limit:
    return raw_rules().members["SystemMetadata"].members["ContentType"]


def metadata_limit() -> Limit:
    return raw_rules().members["Metadata"]  # a map: its most pairs, and the limits of a key and a value

# Any JSON text, numbers of any size included; NaN and Infinity are not JSON.
_JSON = json.JSONDecoder(parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
_JSON_STARTS = frozenset('{["-0123456789tfn')


def content_type_problem(value: Any) -> str | None:
    """What PutRawEvents' model refuses in a ContentType (not `application/...`, too long), or None."""
    return _content_type_limit().problem("ContentType", value)


def payload_bytes(body: str | bytes | None) -> bytes:
    """The record's payload as the bytes its producer wrote (text was UTF-8 on the wire)."""
    if isinstance(body, bytes):
        return body
    return b"" if body is None else body.encode("utf-8", "surrogatepass")


def detected_content_type(body: str | bytes | None) -> str:
    if not isinstance(body, str):
        return OCTET_STREAM  # bytes that are not UTF-8 (text was decoded by the reader), or no body
    text = body[1:] if body.startswith("\ufeff") else body
    if text.lstrip()[:1] not in _JSON_STARTS:  # most text that is not JSON, without a parse
        return OCTET_STREAM
    try:
        value = _JSON.decode(text)
    except (ValueError, RecursionError):
        return OCTET_STREAM
    return CLOUDEVENTS_JSON if isinstance(value, dict) and "specversion" in value else JSON


def raw_entry_size(fields: Mapping[str, Any]) -> int:
    """AWS documents no size formula for PutRawEvents: count every byte an entry carries, to be safe."""
    size = len(fields["Data"])
    for key, value in (fields.get("Metadata") or {}).items():
        size += utf8_length(key) + utf8_length(value)
    return size + sum(utf8_length(value) for value in fields["SystemMetadata"].values())
