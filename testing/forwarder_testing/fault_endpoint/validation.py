"""What the real PutEvents service refuses, for the classic API (and the pieces eventbridgev2 shares).

Whole-request problems raise ``RequestError`` (wrong JSON types: SerializationException; model maxima,
entry count, total size: ValidationException), because the service refuses such a request before looking
at any entry. A bad entry in an otherwise valid request fails alone: ``entry_error`` gives its code and
message. Detail must be a JSON object at most 1000 levels deep with integers within int64; an entry's size
is AWS's published formula (``entry_size``).
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_ENTRIES = 10
MAX_DETAIL_TYPE_CHARS = 128
MAX_DETAIL_DEPTH = 1000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TIME_ENTRY_BYTES = 14  # AWS's size formula counts a set Time as 14 bytes
ENTRY_MESSAGES = {
    "InternalFailure": "Internal service failure.",
    "ThrottlingException": "Rate exceeded.",
    "AccessDeniedException": "User is not authorized to perform: events:PutEvents.",
    "InvalidAccountIdException": "Account ID is not valid.",
    "InvalidArgument": "A specified parameter is not valid.",
    "MalformedDetail": "Detail is malformed.",
    "RedactionFailure": "Redacting the CloudTrail event failed.",
    "NotAuthorizedForSourceException": "Not authorized for the source.",
    "NotAuthorizedForDetailTypeException": "Not authorized for the detail type.",
}
REQUIRED_FIELDS = ("Source", "DetailType", "Detail")
STRING_FIELDS = (*REQUIRED_FIELDS, "EventBusName", "TraceHeader")
# Model maxima (botocore's service-2.json) are enforced by the service's request validation, so they
# fail the whole request with ValidationException; botocore itself only checks minima client-side.
MODEL_MAX_LENGTHS = (("TraceHeader", "traceHeader", 500), ("EventBusName", "eventBusName", 1600))
MAX_RESOURCE_CHARS = 2048
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class RequestError(Exception):
    """A whole-request error (status, code, message); each API writes it in its own wire format."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def validation_error(message: str) -> RequestError:
    return RequestError(400, "ValidationException", message)


def entry_size(entry: dict[str, Any]) -> int:
    """AWS's 'Calculating PutEvents event entry size' formula (TraceHeader is not counted)."""
    size = TIME_ENTRY_BYTES if entry.get("Time") is not None else 0
    for field in ("Source", "DetailType", "Detail"):
        value = entry.get(field)
        if isinstance(value, str):
            size += len(value.encode("utf-8", "surrogatepass"))  # a \ud800 escape is valid JSON text
    for resource in entry.get("Resources") or ():
        if isinstance(resource, str):
            size += len(resource.encode("utf-8", "surrogatepass"))
    return size


def detail_too_deep(detail: str) -> bool:
    """True when the JSON nests deeper than 1000 levels; cheap unless there are many brackets."""
    if detail.count("{") + detail.count("[") <= MAX_DETAIL_DEPTH:
        return False
    brackets = _BRACKETS.findall(_STRINGS.sub("", detail))
    return bool(brackets) and max(accumulate(map(_STEP.__getitem__, brackets))) > MAX_DETAIL_DEPTH


def _int64(text: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("integer outside int64")
    return value


def _no_constants(text: str) -> None:
    raise ValueError(f"{text} is not JSON")  # Python accepts NaN/Infinity; JSON does not


# Built once: json.loads with hooks would build a new decoder (and scanner) on every call.
_DECODER = json.JSONDecoder(parse_int=_int64, parse_constant=_no_constants)
# Without a run of 19 digits no integer can leave int64: the hook per integer is then skipped (it made a 1 MB
# Detail of small numbers cost the endpoint seconds on a busy machine, time the client under test waited).
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_NO_BIG_INTEGERS = json.JSONDecoder(parse_constant=_no_constants)
_INT64_DIGITS = re.compile(r"[0-9]{19}")


def detail_is_well_formed(detail: str) -> bool:
    """A JSON object, at most 1000 levels deep, integers within int64; duplicate keys allowed."""
    if detail_too_deep(detail):
        return False
    try:
        parsed = (_DECODER if _INT64_DIGITS.search(detail) else _NO_BIG_INTEGERS).decode(detail)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict)


def entry_error(entry: Any) -> tuple[str, str] | None:
    """The per-entry error the real service would give a bad entry, else None."""
    if not isinstance(entry, dict):
        return "InvalidArgument", "Entry is not valid."
    for field in REQUIRED_FIELDS:
        if not entry.get(field):
            reason = f"{field} is a required argument."
            return "InvalidArgument", f"Parameter {field} is not valid. Reason: {reason}"
    if len(entry["DetailType"]) > MAX_DETAIL_TYPE_CHARS:
        return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is too long."
    if not detail_is_well_formed(entry["Detail"]):
        return "MalformedDetail", ENTRY_MESSAGES["MalformedDetail"]
    return None


def parse_body(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or the SerializationException the service answers."""
    try:
        parsed = json.loads(body)
    except ValueError as error:
        raise RequestError(400, "SerializationException", "Request body is not JSON.") from error
    if not isinstance(parsed, dict):
        raise RequestError(400, "SerializationException", "Request body is not a JSON object.")
    return parsed


def check_request(body: dict[str, Any], max_entries_bytes: int) -> list[dict[str, Any]]:
    """Whole-request checks; returns the entries or raises RequestError."""
    entries = body.get("Entries")
    if not isinstance(entries, list):
        raise validation_error("1 validation error detected: Value null at 'entries' failed to satisfy "
                               "constraint: Member must not be null")
    if not 1 <= len(entries) <= MAX_ENTRIES:
        bound = "greater than or equal to 1" if not entries else "less than or equal to 10"
        raise validation_error("1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' "
                               f"failed to satisfy constraint: Member must have length {bound}")
    check_shapes(entries)
    check_model_lengths(entries)
    if not any(isinstance(e, dict) and all(e.get(f) for f in REQUIRED_FIELDS) for e in entries):
        raise validation_error("None of the entries has all of Source, DetailType and Detail.")
    if sum(entry_size(e) for e in entries if isinstance(e, dict)) > max_entries_bytes:
        raise validation_error("Total size of the entries in the request is over the limit.")
    return entries


def check_shapes(entries: list[Any]) -> None:
    """Wrong JSON types fail deserialisation before any business rule, as in the real service."""
    for entry in entries:
        strings = [entry.get(field) for field in STRING_FIELDS] if isinstance(entry, dict) else [1]
        resources = entry.get("Resources") if isinstance(entry, dict) else None
        if any(value is not None and not isinstance(value, str) for value in strings) or not (
            resources is None or (isinstance(resources, list) and all(isinstance(r, str) for r in resources))
        ):
            raise RequestError(400, "SerializationException", "An entry has a field of the wrong type.")


def check_model_lengths(entries: list[Any]) -> None:
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            continue
        for field, wire_name, limit in MODEL_MAX_LENGTHS:
            value = entry.get(field)
            if isinstance(value, str) and len(value) > limit:
                raise validation_error(f"1 validation error detected: Value at 'entries.{index}.member."
                                       f"{wire_name}' failed to satisfy constraint: Member must have "
                                       f"length less than or equal to {limit}")
        if any(isinstance(r, str) and len(r) > MAX_RESOURCE_CHARS for r in entry.get("Resources") or ()):
            raise validation_error(f"1 validation error detected: Value at 'entries.{index}.member."
                                   "resources' failed to satisfy constraint: Member must have length less "
                                   f"than or equal to {MAX_RESOURCE_CHARS}")
