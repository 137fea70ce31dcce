"""The eventbridgev2 (Custom Event Bus) PutEvents answers: Smithy RPC v2 CBOR, with a deduplication window.

PutRawEvents is answered on the same wire, under the same faults, quota and window (``v2_raw.py``).

Same config, faults, stats and accepted list as the classic API (one port, one ``FaultState``); what differs:

* the wire: ``POST /service/AWSEventsV2/operation/PutEvents`` with ``smithy-protocol: rpc-v2-cbor`` and
  ``Content-Type: application/cbor``; the body is a CBOR map, timestamps are CBOR tag 1 (epoch seconds);
  answers are CBOR with ``smithy-protocol`` set; errors are CBOR ``{"__type": "<namespace>#Code",
  "Message": ...}``, which botocore's ``RpcV2CBORParser`` reads (it keeps the part after ``#``). What the
  service refuses is in ``v2_validation.py``.
* request faults answer as v2 would: ``throttle`` is 429 ``ThrottlingException`` (botocore retries it as
  throttling), ``http500`` 500 ``InternalException``, ``http503`` 503 ``ServiceUnavailable``; so does a
  request over the shared request quota (quota.py: one account's quota, whichever API is called).
* the deduplication window (config ``dedup_window_seconds``, default 300): per EventBusArn, an entry is
  keyed by its ``SystemMetadata.DeduplicationId``, or, when the request has
  ``DeduplicationConfiguration: {DeduplicationType: CONTENT_BASED}`` and the entry no DeduplicationId, by a
  SHA-256 of Source, DetailType, Detail, Resources and Time. An entry without a key is never deduplicated.
  A key accepted less than the window ago answers ``SuccessCode: DEDUPLICATED`` with the first EventId and
  SequenceNumber and is not recorded again; the window runs from the first acceptance (a duplicate does
  not extend it). The window runs on real time, or, with ``virtual_now`` set, on the clock of whoever sets
  it (the simulated event sources' virtual clock, so a visibility timeout counts there too). Entry faults
  and detail rules are applied before the window is consulted, and
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
from typing import TYPE_CHECKING, Any

import cbor2

from . import faults, quota
from .config import AMBIGUOUS_FAULT_KINDS, FaultConfig
from .state import V2_API, FaultState
from .v2_validation import check_request, decode_request, entry_error, serialization_error
from .validation import RequestError

if TYPE_CHECKING:
    from .handler import Handler

SERVICE = "AWSEventsV2"  # the model's targetPrefix, which botocore puts in the URL path
OPERATION_PATH = f"/service/{SERVICE}/operation/PutEvents"
PROTOCOL = "rpc-v2-cbor"
CBOR_CONTENT_TYPE = "application/cbor"
ERROR_NAMESPACE = "com.amazonaws.eventbridgev2"  # botocore keeps only what follows the "#"
REQUEST_ERRORS = {
    "throttle": (429, "ThrottlingException", "Rate exceeded"),
    "http500": (500, "InternalException", "An internal error occurred."),
    "http503": (503, "ServiceUnavailable", "The service is unavailable. Please try again later."),
    "http429": (429, "TooManyRequests", "Slow down."),
}
PUBLISHED, DEDUPLICATED = "PUBLISHED", "DEDUPLICATED"


def put_events_v2(handler: Handler, body: bytes) -> None:
    """Answer one ``POST /service/...`` (same faults, stats and latency as the classic API)."""
    state = handler.state
    answer = answer_put_events if handler.path == OPERATION_PATH else _raw_answer(handler.path)
    if answer is None:
        send_error(handler, RequestError(404, "UnknownOperationException", f"No operation at {handler.path}; "
                                         f"only {OPERATION_PATH} and PutRawEvents are served."))
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
    if quota.refuse_request(state):  # the account's PutEvents quota is shared by both APIs (quota.py)
        send_error(handler, RequestError(*REQUEST_ERRORS["throttle"]))
        return
    fault = state.request_fault()
    handler.trickling = fault == "trickle"  # the answer, whatever it is, goes out one byte at a time
    if fault in REQUEST_ERRORS:
        send_error(handler, RequestError(*REQUEST_ERRORS[fault]))
    elif fault == "reset":
        faults.reset_connection(handler)
    else:
        answer(handler, body, fault, config)


def _raw_answer(path: str) -> Any:
    """PutRawEvents (v2_raw.py), on this wire and under these faults; None for any other path."""
    from .v2_raw import RAW_OPERATION_PATH, answer_raw_events

    return answer_raw_events if path == RAW_OPERATION_PATH else None


def answer_put_events(handler: Handler, body: bytes, fault: str | None, config: FaultConfig) -> None:
    """Validate, deduplicate and record the entries, then answer as the fault says."""
    state = handler.state
    if fault == "slow":
        faults.hold(handler, config)
    try:
        response = process(state, decode_request(body), config.max_entries_bytes, fault)
    except RequestError as error:
        state.reject(error.code)
        send_error(handler, error)
        return
    faults.answer_accepted(handler, fault, config, lambda: send_cbor(handler, 200, response))


def process(state: FaultState, body: dict[str, Any], max_entries_bytes: int,
            fault: str | None = None) -> dict[str, Any]:
    """Validate, fault, deduplicate and record; returns the PutEvents response.

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
        now = state.config.virtual_now if state.config.virtual_now is not None else time.monotonic()
        _expire(state, now)
        results = [_result(state, entry, error, key, arn, dedup_config, now)
                   for entry, error, key in zip(entries, errors, keys, strict=True)]
        if fault in AMBIGUOUS_FAULT_KINDS:
            state.ambiguous.extend(r["EventId"] for r in results if r.get("SuccessCode") == PUBLISHED)
    failed = sum(1 for result in results if "ErrorCode" in result)
    return {"FailedEntryCount": failed, "Entries": results}


def _result(state: FaultState, entry: dict[str, Any], error: tuple[str, str] | None, key: Any, arn: str,
            dedup_config: dict[str, Any] | None, now: float) -> dict[str, Any]:
    """One entry's answer (caller holds the state's lock)."""
    if error:
        state.rejections[f"entry:{error[0]}"] += 1
        return {"ErrorCode": error[0], "ErrorMessage": error[1]}
    failure = state.entry_fault(entry.get("Detail") or "")
    if failure:
        return failure
    seen = state.dedup_window.get(key) if key is not None else None
    if seen is not None:  # expired keys were dropped by _expire just before
        state.v2_counts["entries_deduplicated"] += 1
        return {"EventId": seen[1], "SequenceNumber": seen[2], "SuccessCode": DEDUPLICATED}
    event_id = state.new_event_id()  # numbered as the classic API numbers them
    state.v2_counts["entries_accepted"] += 1
    sequence = f"{state.v2_counts['entries_accepted']:020d}"
    if key is not None:
        expires = now + state.config.dedup_window_seconds
        state.dedup_window[key] = (expires, event_id, sequence)
        heapq.heappush(state.dedup_expiry, (expires, key))
    if state.config.record_accepted:
        state.accepted.append(record(entry, arn, event_id, sequence, dedup_config))
    return {"EventId": event_id, "SequenceNumber": sequence, "SuccessCode": PUBLISHED}


def dedup_key(arn: str, entry: dict[str, Any], content_based: bool) -> tuple[str, str, str] | None:
    dedup_id = (entry.get("SystemMetadata") or {}).get("DeduplicationId")
    if dedup_id is not None:
        return arn, "id", dedup_id
    if not content_based:
        return None
    content = [entry["Source"], entry["DetailType"], entry.get("Detail"), entry.get("Resources"),
               epoch(entry.get("Time"))]
    return arn, "content", hashlib.sha256(json.dumps(content).encode()).hexdigest()


def _expire(state: FaultState, now: float) -> None:
    """Drop expired keys, soonest first (a heap, so a window changed mid-run keeps working)."""
    heap, window = state.dedup_expiry, state.dedup_window
    while heap and heap[0][0] <= now:
        expires, key = heapq.heappop(heap)
        if key in window and window[key][0] == expires:  # not since replaced by a later acceptance
            del window[key]


def epoch(value: datetime.datetime | None) -> float | None:
    return None if value is None else value.timestamp()


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


def note_signing(state: FaultState, headers: Any) -> None:
    """Like the classic note_signing, plus the API and the credential scope's service (should be events) and region."""
    authorization = headers.get("Authorization") or ""
    scope = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/", authorization)
    with state.lock:
        state.signing.append({"scheme": authorization.split(" ", 1)[0],
                              "region_set": headers.get("X-Amz-Region-Set"), "endpoint_id": None,
                              "api": V2_API, "service": scope.group(2) if scope else None,
                              "region": scope.group(1) if scope else None,
                              "request": {"headers": dict(headers.items())}})


def send_cbor(handler: Handler, status: int, payload: Any, headers: dict[str, str] | None = None,
              close: bool = False) -> None:
    handler.send_raw(status, cbor2.dumps(payload), headers={"smithy-protocol": PROTOCOL, **(headers or {})},
                     close=close, content_type=CBOR_CONTENT_TYPE)


def send_error(handler: Handler, error: RequestError) -> None:
    payload = {"__type": f"{ERROR_NAMESPACE}#{error.code}", "Message": error.message}
    send_cbor(handler, error.status, payload, {"x-amzn-ErrorType": error.code})
