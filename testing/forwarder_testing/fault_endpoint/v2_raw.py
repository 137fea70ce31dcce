"""The eventbridgev2 PutRawEvents answers: the same wire, faults, quota and deduplication window as PutEvents.

``POST /service/AWSEventsV2/operation/PutRawEvents`` (rpc-v2-cbor) is served beside PutEvents (``v2.py``).
The request is checked against botocore's own model of PutRawEvents (``eventbridgev2/2025-05-15``), walked
member by member as the service would: a value of the wrong CBOR type fails the whole request with 400
``SerializationException``; a missing required member, a length, a pattern (a ContentType that is not
``application/...``, a Metadata key with ``/``, a RegistryUri) or an enum fails it with 400
``InvalidInputException``, as does a total size over ``max_entries_bytes`` (every byte of Data, Metadata and
SystemMetadata counted). Each entry then meets the same entry faults as a PutEvents entry (``detail_rules``
match the Data, read as UTF-8 with replacement) and the same deduplication window, keyed by its
DeduplicationId or, under ``CONTENT_BASED``, a SHA-256 of its Data, ContentType and Metadata.

An accepted raw entry, as ``accepted_v2()`` returns it (JSON-safe, so the endpoint's own process can send it)::

    {"EventId": ..., "Api": "eventbridgev2", "Operation": "PutRawEvents", "EventBusArn": ...,
     "SequenceNumber": ..., "DataBase64": "<the Data, base64>", "SystemMetadata": {"ContentType": ...,
     "DeduplicationId": ..., "EventGroupId": ...},
     # only when the request had them:
     "Metadata": {...}, "SchemaRegistryConfiguration": {...}, "DeduplicationConfiguration": {...}}
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import time
from typing import TYPE_CHECKING, Any

import botocore.loaders
import botocore.model

from . import v2
from .config import AMBIGUOUS_FAULT_KINDS
from .state import V2_API, FaultState
from .v2_validation import decode_request, invalid_input, serialization_error
from .validation import RequestError

if TYPE_CHECKING:
    from .handler import Handler

OPERATION = "PutRawEvents"
RAW_OPERATION_PATH = f"/service/{v2.SERVICE}/operation/{OPERATION}"
# The CBOR types a model type takes (botocore sends a blob as a byte string, a timestamp as tag 1).
_CBOR_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "blob": bytes, "list": list, "map": dict, "structure": dict, "integer": int, "boolean": bool,
}


@functools.cache
def request_shape() -> botocore.model.StructureShape:
    loader = botocore.loaders.create_loader()
    model = botocore.model.ServiceModel(loader.load_service_model("eventbridgev2", "service-2"))
    return model.operation_model(OPERATION).input_shape


def check_shape(shape: botocore.model.Shape, value: Any, pointer: str) -> None:
    """The model's rules for one value, raised as the service's RequestError."""
    expected = _CBOR_TYPES.get(shape.type_name)
    if expected is None or not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise serialization_error(f"{pointer} must be a CBOR {shape.type_name}.")
    meta = shape.metadata
    if shape.type_name in ("string", "blob", "list", "map"):
        low, high = meta.get("min", 0), meta.get("max", float("inf"))
        if not low <= len(value) <= high:
            raise invalid_input(pointer, f"Member must have length between {low} and {high:g}")
    if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
        raise invalid_input(pointer, f"Member must satisfy regular expression pattern: {meta['pattern']}")
    if "enum" in meta and value not in meta["enum"]:
        raise invalid_input(pointer, f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]")
    if shape.type_name == "structure":
        _check_structure(shape, value, pointer)
    elif shape.type_name == "list":
        for index, item in enumerate(value):
            check_shape(shape.member, item, f"{pointer}/{index}")
    elif shape.type_name == "map":
        for key, item in value.items():
            check_shape(shape.key, key, f"{pointer}/{key}")
            check_shape(shape.value, item, f"{pointer}/{key}")


def _check_structure(shape: botocore.model.StructureShape, value: dict, pointer: str) -> None:
    for name in shape.required_members:
        if value.get(name) is None:
            raise invalid_input(f"{pointer}/{name}", "Member must not be null")
    for name, item in value.items():
        member = shape.members.get(name)
        if member is None:
            raise serialization_error(f"{pointer} has no member {name!r}.")
        if item is not None:
            check_shape(member, item, f"{pointer}/{name}")


def raw_entry_size(entry: dict[str, Any]) -> int:
    size = len(entry["Data"])
    for key, value in (entry.get("Metadata") or {}).items():
        size += len(key.encode("utf-8", "surrogatepass")) + len(value.encode("utf-8", "surrogatepass"))
    return size + sum(len(value.encode("utf-8", "surrogatepass")) for value in entry["SystemMetadata"].values())


def answer_raw_events(handler: Handler, body: bytes, fault: str | None, config: Any) -> None:
    """After v2.put_events_v2's checks of the wire, the quota and the request faults (the same as PutEvents')."""
    state = handler.state
    if fault == "slow":
        v2.faults.hold(handler, config)
    try:
        response = process(state, decode_request(body), config.max_entries_bytes, fault)
    except RequestError as error:
        state.reject(error.code)
        v2.send_error(handler, error)
        return
    v2.faults.answer_accepted(handler, fault, config, lambda: v2.send_cbor(handler, 200, response))


def process(state: FaultState, body: dict[str, Any], max_entries_bytes: int, fault: str | None = None) -> dict:
    check_shape(request_shape(), body, "")
    entries = body["Entries"]
    if sum(raw_entry_size(entry) for entry in entries) > max_entries_bytes:
        raise RequestError(400, "InvalidInputException", "Total size of the entries in the request is over the limit.")
    arn = body["EventBusArn"]
    content_based = (body.get("DeduplicationConfiguration") or {}).get("DeduplicationType") == "CONTENT_BASED"
    keys = [dedup_key(arn, entry, content_based) for entry in entries]
    texts = [entry["Data"].decode("utf-8", "replace") for entry in entries]  # what detail_rules match
    extra = {name: body[name] for name in ("SchemaRegistryConfiguration", "DeduplicationConfiguration")
             if body.get(name) is not None}
    with state.lock:
        state.entries_received += len(entries)
        state.v2_counts["entries_received"] += len(entries)
        state.v2_counts["raw_entries_received"] += len(entries)
        now = state.config.virtual_now if state.config.virtual_now is not None else time.monotonic()
        v2._expire(state, now)
        results = [_result(state, entry, text, key, arn, extra, now)
                   for entry, text, key in zip(entries, texts, keys, strict=True)]
        if fault in AMBIGUOUS_FAULT_KINDS:
            state.ambiguous.extend(r["EventId"] for r in results if r.get("SuccessCode") == v2.PUBLISHED)
    failed = sum(1 for result in results if "ErrorCode" in result)
    return {"FailedEntryCount": failed, "Entries": results}


def _result(state: FaultState, entry: dict[str, Any], text: str, key: Any, arn: str, extra: dict,
            now: float) -> dict[str, Any]:
    """One entry's answer (caller holds the state's lock): v2.py's window, with a raw entry's record."""
    failure = state.entry_fault(text)
    if failure:
        return failure
    seen = state.dedup_window.get(key) if key is not None else None
    if seen is not None:
        state.v2_counts["entries_deduplicated"] += 1
        return {"EventId": seen[1], "SequenceNumber": seen[2], "SuccessCode": v2.DEDUPLICATED}
    event_id = state.new_event_id()
    state.v2_counts["entries_accepted"] += 1
    sequence = f"{state.v2_counts['entries_accepted']:020d}"
    if key is not None:
        expires = now + state.config.dedup_window_seconds
        state.dedup_window[key] = (expires, event_id, sequence)
        v2.heapq.heappush(state.dedup_expiry, (expires, key))
    if state.config.record_accepted:
        state.accepted.append(record(entry, arn, event_id, sequence, extra))
    return {"EventId": event_id, "SequenceNumber": sequence, "SuccessCode": v2.PUBLISHED}


def dedup_key(arn: str, entry: dict[str, Any], content_based: bool) -> tuple[str, str, str] | None:
    dedup_id = entry["SystemMetadata"].get("DeduplicationId")
    if dedup_id is not None:
        return arn, "id", dedup_id  # one window for both APIs: an id is an id, whichever API sent it
    if not content_based:
        return None
    digest = hashlib.sha256(entry["Data"])
    digest.update(json.dumps([entry["SystemMetadata"]["ContentType"], entry.get("Metadata")], sort_keys=True).encode())
    return arn, "raw-content", digest.hexdigest()


def record(entry: dict[str, Any], arn: str, event_id: str, sequence: str, extra: dict) -> dict[str, Any]:
    recorded: dict[str, Any] = {"EventId": event_id, "Api": V2_API, "Operation": OPERATION, "EventBusArn": arn,
                                "SequenceNumber": sequence, "DataBase64": base64.b64encode(entry["Data"]).decode(),
                                "SystemMetadata": dict(entry["SystemMetadata"])}
    if entry.get("Metadata") is not None:
        recorded["Metadata"] = dict(entry["Metadata"])
    return {**recorded, **extra}


def raw_data(accepted: dict[str, Any]) -> bytes:
    """An accepted raw entry's Data as the bytes the bus took."""
    return base64.b64decode(accepted["DataBase64"])
