"""PutEvents for any number of entries: the forwarder's engine, for your own code.

    from forwarder import put_events

    results = put_events([{"Source": "shop", "DetailType": "OrderPlaced", "Detail": {"id": 1}}] * 5000)
    failed = [r for r in results if "ErrorCode" in r]

It replaces the loop everybody writes around `put_events` (chunk by 10, forget the byte limit,
resend everything or nothing, retry forever): entries are packed by count and AWS's size formula,
sent concurrently, only retryable failures are retried, and an optional timeout bounds it all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from forwarder.clients import create_client
from forwarder.entries import MAX_DETAIL_TYPE_CHARS, MAX_TRACE_HEADER_CHARS, Entry, Rejected, entry_size
from forwarder.outcomes import Outcome
from forwarder.publisher import Publisher, PublishOptions, put_events_sender
from forwarder.settings import DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BYTES, DEFAULT_MAX_CONCURRENCY

INVALID = "InvalidArgument"  # the code EventBridge itself gives a malformed entry
# The fields botocore's model defines for a PutEventsRequestEntry; anything else would make
# botocore refuse the whole request, so such an entry is refused alone instead.
ENTRY_FIELDS = frozenset({"Time", "Source", "Resources", "DetailType", "Detail", "EventBusName", "TraceHeader"})


def put_events(
    entries: Iterable[Mapping[str, Any]],
    *,
    client: Any = None,
    event_bus_name: str | None = None,
    endpoint_id: str | None = None,
    max_request_bytes: int = DEFAULT_MAX_BYTES,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    timeout: float | None = None,
) -> list[dict[str, str]]:
    """Send every entry; return one result per entry, in input order.

    entries: boto3's PutEventsRequestEntry shape; `Detail` may be a JSON string or a dict
        (serialized here); `Time` a datetime, epoch seconds or an RFC 3339 string.
    client: a botocore/boto3 `events` client; by default one is made with a connection pool
        of `max_concurrency` (endpoint and region from the usual AWS variables).
    event_bus_name: fills entries that name no bus.
    endpoint_id: send through this EventBridge global endpoint (SigV4a; needs botocore[crt]).
    timeout: seconds; entries not confirmed by then get ErrorCode "DeadlineExceeded".

    A result is {"EventId": ...} or {"ErrorCode": ..., "ErrorMessage": ...}, as in PutEvents'
    own response. Entries failing with InternalFailure or ThrottlingException are retried
    (up to `max_attempts` sends each); an entry that succeeded is never sent twice.
    """
    client = client or create_client("events", max_concurrency)
    items = [prepare(entry, event_bus_name) for entry in entries]
    publisher = Publisher(
        put_events_sender(client, endpoint_id), PublishOptions(max_request_bytes, max_concurrency, max_attempts)
    )
    deadline = None if timeout is None else time.monotonic() + timeout
    return [result_of(outcome) for outcome in publisher.publish(items, deadline).outcomes]


def prepare(entry: Mapping[str, Any], event_bus_name: str | None = None) -> Entry | Rejected:
    """Check one entry the way the API would, so a bad entry fails alone, not its whole request."""
    if not isinstance(entry, Mapping):
        return Rejected(INVALID, f"an entry must be an object, got {type(entry).__name__}")
    unknown = sorted(set(entry) - ENTRY_FIELDS)
    if unknown:
        return Rejected(INVALID, f"unknown field(s) {unknown}; an entry takes {sorted(ENTRY_FIELDS)}")
    fields = dict(entry)
    if event_bus_name and not fields.get("EventBusName"):
        fields["EventBusName"] = event_bus_name
    problem = _normalize(fields)
    if problem:
        return Rejected(INVALID, problem)
    return Entry(fields, entry_size(fields))


def _normalize(fields: dict[str, Any]) -> str | None:
    """Serialize Detail and parse Time in place; return what is wrong, if anything."""
    detail = fields.get("Detail")
    if isinstance(detail, Mapping):
        fields["Detail"] = json.dumps(detail, ensure_ascii=False, separators=(",", ":"))
    elif detail is not None and not isinstance(detail, str):
        return "Detail must be a JSON object or a string holding one"
    for name in ("Source", "DetailType", "EventBusName", "TraceHeader"):
        if name in fields and not isinstance(fields[name], str):
            return f"{name} must be a string"
    if len(fields.get("DetailType") or "") > MAX_DETAIL_TYPE_CHARS:
        return f"DetailType is longer than {MAX_DETAIL_TYPE_CHARS} characters"
    if len(fields.get("TraceHeader") or "") > MAX_TRACE_HEADER_CHARS:
        return f"TraceHeader is longer than {MAX_TRACE_HEADER_CHARS} characters"
    resources = fields.get("Resources")
    if resources is not None and not (isinstance(resources, list) and all(isinstance(r, str) for r in resources)):
        return "Resources must be a list of strings"
    moment = fields.get("Time")
    if isinstance(moment, str):
        try:
            fields["Time"] = datetime.fromisoformat(moment)
        except ValueError:
            return f"Time {moment!r} is not an RFC 3339 timestamp"
    elif moment is not None and (isinstance(moment, bool) or not isinstance(moment, datetime | int | float)):
        return "Time must be an RFC 3339 string, a datetime or epoch seconds"
    return None


def result_of(outcome: Outcome) -> dict[str, str]:
    if outcome.confirmed:
        return {"EventId": outcome.event_id}
    return {"ErrorCode": outcome.error_code or "Unknown", "ErrorMessage": outcome.error_message or ""}
