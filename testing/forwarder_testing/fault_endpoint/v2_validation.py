"""What the real eventbridgev2 PutEvents refuses, from its service model (``eventbridgev2/2025-05-15``).

Structural faults (EventBusArn pattern, 1..100 entries, Source 1..256 and DetailType 1..128 required,
Resources, SystemMetadata lengths and the DeduplicationId's non-whitespace rule, DeduplicationType enum,
total size) fail the whole request with 400 ``InvalidInputException``; wrong CBOR types fail it with 400
``SerializationException``. Detail is optional in v2; a Detail that is not a JSON object, nests over 1000
levels or holds integers beyond int64 fails that entry alone with ``MalformedDetail``.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import cbor2

from .validation import ENTRY_MESSAGES, MAX_RESOURCE_CHARS, RequestError, detail_is_well_formed, entry_size

MAX_ENTRIES = 100
MAX_SOURCE_CHARS = 256
MAX_DETAIL_TYPE_CHARS = 128
MAX_RESOURCES = 100
MAX_SYSTEM_METADATA_CHARS = 128
MAX_ARN_CHARS = 1011
EVENT_BUS_ARN = re.compile(r"arn:aws(-[a-z0-9]+)*:events:[a-z][a-z0-9]*(-[a-z0-9]+)*:([0-9]{12}):event-busv2"
                           r"/[A-Za-z0-9][.\-_A-Za-z0-9]{0,255}/[a-z0-9]{25}")
# EventDeduplicationId's model pattern: at least one character that is not whitespace.
NOT_WHITESPACE = re.compile("[^\u0009-\u000d\u001c-\u0020\u1680\u2000-\u2006\u2008-\u200a\u2028\u2029"
                            "\u205f\u3000]")


def invalid_input(pointer: str, constraint: str) -> RequestError:
    return RequestError(400, "InvalidInputException", "1 validation error detected: Value at "
                        f"'{pointer}' failed to satisfy constraint: {constraint}")


def serialization_error(message: str) -> RequestError:
    return RequestError(400, "SerializationException", message)


def _length(value: Any, pointer: str, low: int, high: int, *, required: bool = False) -> None:
    """Model string/list length rules: wrong type -> SerializationException, bad length -> invalid input."""
    if value is None:
        if required:
            raise invalid_input(pointer, "Member must not be null")
        return
    if not isinstance(value, str):
        raise serialization_error(f"{pointer} must be a CBOR text string.")
    if not low <= len(value) <= high:
        raise invalid_input(pointer, f"Member must have length between {low} and {high}")


def decode_request(body: bytes) -> dict[str, Any]:
    try:
        parsed = cbor2.loads(body)
    except (cbor2.CBORDecodeError, ValueError) as error:
        raise serialization_error("Request body is not valid CBOR.") from error
    if not isinstance(parsed, dict):
        raise serialization_error("Request body is not a CBOR map.")
    return parsed


def check_request(body: dict[str, Any], max_entries_bytes: int) -> tuple[str, bool, list[dict[str, Any]]]:
    """Whole-request checks from the model; returns (EventBusArn, content_based, entries) or raises."""
    arn = body.get("EventBusArn")
    _length(arn, "/EventBusArn", 1, MAX_ARN_CHARS, required=True)
    if not EVENT_BUS_ARN.fullmatch(arn):
        raise invalid_input("/EventBusArn", f"Member must satisfy regular expression pattern: "
                            f"{EVENT_BUS_ARN.pattern}")
    content_based = check_dedup_config(body.get("DeduplicationConfiguration"))
    entries = body.get("Entries")
    if entries is None:
        raise invalid_input("/Entries", "Member must not be null")
    if not isinstance(entries, list):
        raise serialization_error("/Entries must be a CBOR array.")
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise invalid_input("/Entries", f"Member must have length between 1 and {MAX_ENTRIES}")
    for index, entry in enumerate(entries):
        check_entry(entry, f"/Entries/{index}")
    if sum(entry_size(entry) for entry in entries) > max_entries_bytes:
        raise RequestError(400, "InvalidInputException", "Total size of the entries in the request is over "
                           "the limit.")
    return arn, content_based, entries


def check_dedup_config(config: Any) -> bool:
    if config is None:
        return False
    if not isinstance(config, dict):
        raise serialization_error("/DeduplicationConfiguration must be a CBOR map.")
    kind = config.get("DeduplicationType")
    if kind is None:
        raise invalid_input("/DeduplicationConfiguration/DeduplicationType", "Member must not be null")
    if kind != "CONTENT_BASED":
        raise invalid_input("/DeduplicationConfiguration/DeduplicationType",
                            "Member must satisfy enum value set: [CONTENT_BASED]")
    return True


def check_entry(entry: Any, pointer: str) -> None:
    if not isinstance(entry, dict):
        raise serialization_error(f"{pointer} must be a CBOR map.")
    _length(entry.get("Source"), f"{pointer}/Source", 1, MAX_SOURCE_CHARS, required=True)
    _length(entry.get("DetailType"), f"{pointer}/DetailType", 1, MAX_DETAIL_TYPE_CHARS, required=True)
    if entry.get("Detail") is not None and not isinstance(entry["Detail"], str):
        raise serialization_error(f"{pointer}/Detail must be a CBOR text string.")
    if entry.get("Time") is not None and not isinstance(entry["Time"], datetime.datetime):
        raise serialization_error(f"{pointer}/Time must be a timestamp (CBOR tag 1).")
    resources = entry.get("Resources")
    if resources is not None:
        if not isinstance(resources, list):
            raise serialization_error(f"{pointer}/Resources must be a CBOR array.")
        if len(resources) > MAX_RESOURCES:
            raise invalid_input(f"{pointer}/Resources", f"Member must have length between 0 and "
                                f"{MAX_RESOURCES}")
        for number, resource in enumerate(resources):
            _length(resource, f"{pointer}/Resources/{number}", 0, MAX_RESOURCE_CHARS, required=True)
    metadata = entry.get("SystemMetadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise serialization_error(f"{pointer}/SystemMetadata must be a CBOR map.")
        for field in ("EventGroupId", "DeduplicationId"):
            _length(metadata.get(field), f"{pointer}/SystemMetadata/{field}", 1, MAX_SYSTEM_METADATA_CHARS)
        dedup_id = metadata.get("DeduplicationId")
        if dedup_id is not None and not NOT_WHITESPACE.search(dedup_id):
            raise invalid_input(f"{pointer}/SystemMetadata/DeduplicationId",
                                "Member must contain at least one character that is not whitespace")


def entry_error(entry: dict[str, Any]) -> tuple[str, str] | None:
    """The per-entry error for an entry that passed the model checks (Detail is optional in v2)."""
    detail = entry.get("Detail")
    if detail is not None and not detail_is_well_formed(detail):
        return "MalformedDetail", ENTRY_MESSAGES["MalformedDetail"]
    return None
