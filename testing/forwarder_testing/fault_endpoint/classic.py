"""The classic API's PutEvents answers (awsJson1_1: ``POST /`` with ``X-Amz-Target: AWSEvents.PutEvents``).

A request meets, in order: the target check, the body limit (413 with no body, as the front end sends),
a scripted answer or request rule (``answer_schedule``, ``request_rules``), the request fault, then the
service's validation (``validation.py``), the entry faults, and the record of what was accepted. Errors
carry ``__type`` and ``x-amzn-ErrorType``, so boto3 raises proper ``ClientError`` codes and botocore's
retry modes see throttling and 5xx as retryable.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import faults, quota
from .config import AMBIGUOUS_FAULT_KINDS
from .state import FaultState
from .validation import RequestError, check_request, entry_error, parse_body

if TYPE_CHECKING:
    from .handler import Handler

TARGET = "AWSEvents.PutEvents"
# (status, __type, message) for the request-level errors the faults imitate.
REQUEST_ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "http500": (500, "InternalException", "An internal error occurred."),
    "http503": (503, "ServiceUnavailable", "The service is unavailable. Please try again later."),
    "http429": (429, "TooManyRequests", "Slow down."),
}


def put_events(handler: Handler, body: bytes) -> None:
    """Answer one ``POST /``."""
    state = handler.state
    if handler.headers.get("X-Amz-Target") != TARGET:
        handler.send_error_json(RequestError(400, "UnknownOperationException", "Only PutEvents is served."))
        return
    note_signing(state, handler.headers, body)
    if len(body) > state.config.max_body_bytes:
        state.reject("http413")
        handler.send_raw(413, b"", close=True)  # what the real front end sends: no body, then close
        return
    if answer_scripted(handler, body):  # answer_schedule, request_rules
        return
    if quota.refuse_request(state):
        handler.send_error_json(RequestError(*REQUEST_ERRORS["throttle"]))
        return
    fault = state.request_fault()
    if fault in REQUEST_ERRORS:
        handler.send_error_json(RequestError(*REQUEST_ERRORS[fault]))
    elif fault == "reset":
        faults.reset_connection(handler)
    else:
        handler.trickling = fault == "trickle"
        answer_put_events(handler, body, fault)


def answer_put_events(handler: Handler, body: bytes, fault: str | None) -> None:
    """Validate and record the entries, then answer as the fault says (no fault, slow, accepted_*)."""
    state = handler.state
    config = state.config
    if fault == "slow":
        faults.hold(handler, config)
    try:
        entries = check_request(parse_body(body), config.max_entries_bytes)
        response = quota.within_entry_quota(state, entries, lambda allowed: process(state, allowed, fault))
    except RequestError as error:
        state.reject(error.code)
        handler.send_error_json(error)
        return
    faults.answer_accepted(handler, fault, config, lambda: handler.send_json(200, response))


def process(state: FaultState, entries: list[Any], fault: str | None = None) -> dict[str, Any]:
    """Validate and fault each entry, record the accepted ones; returns the PutEvents response."""
    errors = [entry_error(entry) for entry in entries]  # outside the lock: the costly part
    with state.lock:
        state.entries_received += len(entries)
        results = [_result(state, entry, error) for entry, error in zip(entries, errors, strict=True)]
        if fault in AMBIGUOUS_FAULT_KINDS:
            state.ambiguous.extend(result["EventId"] for result in results if "EventId" in result)
    failed = sum(1 for result in results if "ErrorCode" in result)
    return {"FailedEntryCount": failed, "Entries": results}


def _result(state: FaultState, entry: Any, error: tuple[str, str] | None) -> dict[str, str]:
    """One entry's answer (caller holds the state's lock)."""
    if error:
        state.rejections[f"entry:{error[0]}"] += 1
        return {"ErrorCode": error[0], "ErrorMessage": error[1]}
    failure = state.entry_fault(entry["Detail"])
    if failure:
        return failure
    event_id = state.new_event_id()
    if state.config.record_accepted:
        state.accepted.append({"EventId": event_id, **entry})
    return {"EventId": event_id}


def note_signing(state: FaultState, headers: Any, body: bytes) -> None:
    """Remember the signature scheme, region set and EndpointId of a request (global endpoints), and
    its headers and body, so a test can check the signature as AWS would."""
    endpoint_id = json.loads(body).get("EndpointId") if b'"EndpointId"' in body else None
    scheme = (headers.get("Authorization") or "").split(" ", 1)[0]
    with state.lock:
        state.signing.append(
            {"scheme": scheme, "region_set": headers.get("X-Amz-Region-Set"), "endpoint_id": endpoint_id,
             "request": {"headers": dict(headers.items()), "body": body}}
        )


# -- scripted answers and whole-request rules (answer_schedule, request_rules) ------------------------------


def answer_scripted(handler: Handler, body: bytes) -> bool:
    """Answer a PutEvents request by answer_schedule or request_rules; False when neither applies."""
    state = handler.state
    with state.lock:
        answer = state.config.answer_schedule.pop(0) if state.config.answer_schedule else None
        rule = None if isinstance(answer, dict) else _request_rule(state.config.request_rules, body)
        if isinstance(answer, dict) or rule is not None:
            state.requests += 1
    if isinstance(answer, dict):
        with state.lock:
            state.faults[f"answer:{answer['status']}"] += 1
        handler.send_raw(answer["status"], answer.get("body", "").encode("utf-8", "surrogatepass"))
        return True
    if rule is None:
        return False
    error = RequestError(rule.get("status", 400), rule.get("code", "ValidationException"),
                         rule.get("message", "The request was refused for one of its entries."))
    state.reject(error.code)
    handler.send_error_json(error)
    return True


def _request_rule(rules: list[dict[str, Any]], body: bytes) -> dict[str, Any] | None:
    if not rules:
        return None
    try:
        entries = json.loads(body).get("Entries")
    except (ValueError, AttributeError):
        return None  # the usual checks answer it
    if not isinstance(entries, list):
        return None
    details = [e["Detail"] for e in entries if isinstance(e, dict) and isinstance(e.get("Detail"), str)]
    return next((rule for rule in rules if any(rule["contains"] in detail for detail in details)), None)
