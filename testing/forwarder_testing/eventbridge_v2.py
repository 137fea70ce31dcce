"""The eventbridgev2 (Custom Event Bus) side of the fault endpoint: PutEvents over Smithy RPC v2 CBOR.

``eventbridge_endpoint.Handler`` hands every ``POST /service/...`` here, so one ``FaultEndpoint`` (one
port, one process) serves both the classic and the v2 API, with the same config, faults, stats and
accepted list. This module reuses the classic pieces (Detail rules, size formula, entry error codes,
``RequestError``) and adds what differs:

* the wire: ``POST /service/AWSEventsV2/operation/PutEvents`` with ``smithy-protocol: rpc-v2-cbor`` and
  ``Content-Type: application/cbor``; the body is a CBOR map, timestamps are CBOR tag 1 (epoch seconds);
  answers are CBOR with ``smithy-protocol`` set; errors are CBOR ``{"__type": "<namespace>#Code",
  "Message": ...}``, which botocore's ``RpcV2CBORParser`` reads (it keeps the part after ``#``).
* validation from the service model (``eventbridgev2/2025-05-15``): structural faults (EventBusArn pattern,
  1..100 entries, Source 1..256 and DetailType 1..128 required, Resources, SystemMetadata lengths and the
  DeduplicationId's non-whitespace rule, DeduplicationType enum, total size) fail the whole request with
  400 ``InvalidInputException``; wrong CBOR types fail with 400 ``SerializationException``. Detail is
  optional in v2; a Detail that is not a JSON object, nests over 1000 levels or holds integers beyond
  int64 fails that entry alone with ``MalformedDetail``.
* request faults answer as v2 would: ``throttle`` is 429 ``ThrottlingException`` (botocore retries it as
  throttling), ``http500`` 500 ``InternalException``, ``http503`` 503 ``ServiceUnavailable``.
* the deduplication window (config ``dedup_window_seconds``, default 300): per EventBusArn, an entry is
  keyed by its ``SystemMetadata.DeduplicationId``, or, when the request has
  ``DeduplicationConfiguration: {DeduplicationType: CONTENT_BASED}`` and the entry no DeduplicationId, by a
  SHA-256 of Source, DetailType, Detail, Resources and Time. An entry without a key is never deduplicated.
  A key accepted less than the window ago answers ``SuccessCode: DEDUPLICATED`` with the first EventId and
  SequenceNumber and is not recorded again; the window runs from the first acceptance (a duplicate does
  not extend it). Entry faults and detail rules are applied before the window is consulted, and
  ``accepted_hang`` / ``accepted_reset`` record the entries (so they enter the window) before dropping
  the answer: the client's retry comes back DEDUPLICATED.

An accepted v2 entry, as ``FaultEndpoint.accepted()`` / ``accepted_v2()`` return it::

    {"EventId": "00000000-0000-4000-8000-000000000001", "Api": "eventbridgev2",
     "EventBusArn": "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy",
     "SequenceNumber": "00000000000000000001", "Source": ..., "DetailType": ...,
     # only when the request had them:
     "Detail": "...", "Resources": [...], "Time": 1795168800.123456 (epoch seconds, from CBOR tag 1),
     "SystemMetadata": {"EventGroupId": ..., "DeduplicationId": ...},
     "DeduplicationConfiguration": {"DeduplicationType": "CONTENT_BASED"}}
"""

from __future__ import annotations

import datetime
import hashlib
import heapq
import json
import re
import time
from typing import Any

import cbor2

from .eventbridge_endpoint import (
    AMBIGUOUS_FAULT_KINDS,
    ENTRY_MESSAGES,
    MAX_RESOURCE_CHARS,
    V2_API,
    RequestError,
    detail_is_well_formed,
    entry_size,
)

SERVICE = "AWSEventsV2"  # the model's targetPrefix, which botocore puts in the URL path
OPERATION_PATH = f"/service/{SERVICE}/operation/PutEvents"
PROTOCOL = "rpc-v2-cbor"
CBOR_CONTENT_TYPE = "application/cbor"
ERROR_NAMESPACE = "com.amazonaws.eventbridgev2"  # botocore keeps only what follows the "#"
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
REQUEST_ERRORS = {
    "throttle": (429, "ThrottlingException", "Rate exceeded"),
    "http500": (500, "InternalException", "An internal error occurred."),
    "http503": (503, "ServiceUnavailable", "The service is unavailable. Please try again later."),
    "http429": (429, "TooManyRequests", "Slow down."),
}
PUBLISHED, DEDUPLICATED = "PUBLISHED", "DEDUPLICATED"


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


def epoch(value: datetime.datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def dedup_key(arn: str, entry: dict[str, Any], content_based: bool) -> tuple[str, str, str] | None:
    dedup_id = (entry.get("SystemMetadata") or {}).get("DeduplicationId")
    if dedup_id is not None:
        return arn, "id", dedup_id
    if not content_based:
        return None
    content = [entry["Source"], entry["DetailType"], entry.get("Detail"), entry.get("Resources"),
               epoch(entry.get("Time"))]
    return arn, "content", hashlib.sha256(json.dumps(content).encode()).hexdigest()


def record(entry: dict[str, Any], arn: str, event_id: str, sequence: str,
           dedup_config: dict[str, Any] | None) -> dict[str, Any]:
    recorded: dict[str, Any] = {"EventId": event_id, "Api": V2_API, "EventBusArn": arn,
                                "SequenceNumber": sequence}
    for field in ("Source", "DetailType", "Detail", "Resources", "SystemMetadata"):
        if entry.get(field) is not None:
            recorded[field] = entry[field]
    if entry.get("Time") is not None:
        recorded["Time"] = epoch(entry["Time"])
    if dedup_config is not None:
        recorded["DeduplicationConfiguration"] = dedup_config
    return recorded


def process(state: Any, body: dict[str, Any], max_entries_bytes: int, fault: str | None = None) -> dict[str, Any]:
    """Validate, fault, deduplicate and record; returns the PutEvents response (state: FaultState).

    Under an ambiguous fault (slow, accepted_hang, accepted_reset) the EventIds of the entries published
    go to the same ambiguous list as the classic API's, so a duplicate on the bus can be explained.
    """
    arn, content_based, entries = check_request(body, max_entries_bytes)
    errors = [entry_error(entry) for entry in entries]  # outside the lock: the costly part
    keys = [dedup_key(arn, entry, content_based) for entry in entries]
    dedup_config = body.get("DeduplicationConfiguration")
    with state.lock:
        state.entries_received += len(entries)
        state.v2_counts["entries_received"] += len(entries)
        now = time.monotonic()
        _expire(state, now)
        results = [_result(state, entry, error, key, arn, dedup_config, now)
                   for entry, error, key in zip(entries, errors, keys, strict=True)]
        if fault in AMBIGUOUS_FAULT_KINDS:
            state.ambiguous.extend(r["EventId"] for r in results if r.get("SuccessCode") == PUBLISHED)
    failed = sum(1 for result in results if "ErrorCode" in result)
    return {"FailedEntryCount": failed, "Entries": results}


def _expire(state: Any, now: float) -> None:
    """Drop expired keys, soonest first (a heap, so a window changed mid-run keeps working)."""
    heap, window = state.dedup_expiry, state.dedup_window
    while heap and heap[0][0] <= now:
        expires, key = heapq.heappop(heap)
        if key in window and window[key][0] == expires:  # not since replaced by a later acceptance
            del window[key]


def _result(state: Any, entry: dict[str, Any], error: tuple[str, str] | None, key: Any, arn: str,
            dedup_config: dict[str, Any] | None, now: float) -> dict[str, Any]:
    """One entry's answer (caller holds the state's lock)."""
    if error:
        state.rejections[f"entry:{error[0]}"] += 1
        return {"ErrorCode": error[0], "ErrorMessage": error[1]}
    code = _injected_entry_code(state, entry)
    if code:
        state.faults[f"entry:{code}"] += 1
        return {"ErrorCode": code, "ErrorMessage": ENTRY_MESSAGES.get(code, "Injected failure.")}
    seen = state.dedup_window.get(key) if key is not None else None
    if seen is not None:  # expired keys were dropped by _expire just before
        state.v2_counts["entries_deduplicated"] += 1
        return {"EventId": seen[1], "SequenceNumber": seen[2], "SuccessCode": DEDUPLICATED}
    state.accepted_count += 1
    state.v2_counts["entries_accepted"] += 1
    event_id = f"00000000-0000-4000-8000-{state.accepted_count:012x}"  # as the classic API numbers them
    sequence = f"{state.v2_counts['entries_accepted']:020d}"
    if key is not None:
        expires = now + state.config.dedup_window_seconds
        state.dedup_window[key] = (expires, event_id, sequence)
        heapq.heappush(state.dedup_expiry, (expires, key))
    if state.config.record_accepted:
        state.accepted.append(record(entry, arn, event_id, sequence, dedup_config))
    return {"EventId": event_id, "SequenceNumber": sequence, "SuccessCode": PUBLISHED}


def _injected_entry_code(state: Any, entry: dict[str, Any]) -> str | None:
    detail = entry.get("Detail") or ""
    for rule in state.config.detail_rules:
        if rule["contains"] in detail:
            return rule["code"]
    code = state._draw(state.config.entry_schedule, state.config.entry_faults)
    return None if code in (None, "ok") else code


def note_signing(state: Any, headers: Any) -> None:
    """Like the classic note_signing, plus the API and the credential scope's service (should be events)."""
    authorization = headers.get("Authorization") or ""
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", authorization)
    with state.lock:
        state.signing.append({"scheme": authorization.split(" ", 1)[0],
                              "region_set": headers.get("X-Amz-Region-Set"), "endpoint_id": None,
                              "api": V2_API, "service": scope.group(1) if scope else None})


def send_cbor(handler: Any, status: int, payload: Any, headers: dict[str, str] | None = None,
              close: bool = False) -> None:
    handler.send_raw(status, cbor2.dumps(payload), headers={"smithy-protocol": PROTOCOL, **(headers or {})},
                     close=close, content_type=CBOR_CONTENT_TYPE)


def send_error(handler: Any, error: RequestError) -> None:
    payload = {"__type": f"{ERROR_NAMESPACE}#{error.code}", "Message": error.message}
    send_cbor(handler, error.status, payload, {"x-amzn-ErrorType": error.code})


def put_events_v2(handler: Any, body: bytes) -> None:
    """Answer one ``POST /service/...`` on the classic Handler (same faults, stats and latency)."""
    state = handler.state
    if handler.path != OPERATION_PATH:
        send_error(handler, RequestError(404, "UnknownOperationException", f"No operation at {handler.path}; "
                                         f"only {OPERATION_PATH} is served."))
        return
    if handler.headers.get("smithy-protocol") != PROTOCOL:
        send_error(handler, serialization_error(f"The smithy-protocol header must be {PROTOCOL}."))
        return
    note_signing(state, handler.headers)
    with state.lock:
        state.v2_counts["requests"] += 1
    config = state.config
    if len(body) > config.max_body_bytes:
        state.reject("http413")
        handler.send_raw(413, b"", close=True)
        return
    fault = state.request_fault()
    handler.trickling = fault == "trickle"  # the answer, whatever it is, goes out one byte at a time
    if fault in REQUEST_ERRORS:
        send_error(handler, RequestError(*REQUEST_ERRORS[fault]))
        return
    if fault == "reset":
        handler.reset_connection()
        return
    if fault == "slow":
        state.stopping.wait(config.slow_ms / 1000)
    try:
        response = process(state, decode_request(body), config.max_entries_bytes, fault)
    except RequestError as error:
        state.reject(error.code)
        send_error(handler, error)
        return
    if fault == "accepted_reset":
        handler.reset_connection()
    elif fault == "accepted_hang":
        state.stopping.wait(config.slow_ms / 1000)
        handler.close_connection = True  # the answer is never sent
    else:
        send_cbor(handler, 200, response)
