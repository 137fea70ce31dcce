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
import math
import time
from collections.abc import Iterable, Mapping
from threading import Event
from typing import Any

import botocore.session

from forwarder.config.settings import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CONCURRENCY,
    MAX_ATTEMPTS_LIMIT,
    MAX_CONCURRENCY_LIMIT,
    MIB,
    MIN_MAX_BYTES,
)
from forwarder.core.codes import INVALID_ARGUMENT
from forwarder.core.items import Entry, Rejected
from forwarder.core.outcomes import Outcome
from forwarder.library.aws_setup import region
from forwarder.net.clients import create_client
from forwarder.publish.options import PublishOptions
from forwarder.publish.publisher import Publisher
from forwarder.targets.buses import PUT_EVENTS_RETRIES, ClassicBus, client_sender
from forwarder.targets.limits import MAX_DETAIL_TYPE_CHARS, utc_time

# The ranges the function's settings allow (config/settings.py), for the same options here and in the command.
LIMITS = {
    "max_request_bytes": (MIN_MAX_BYTES, MIB),
    "max_concurrency": (1, MAX_CONCURRENCY_LIMIT),
    "max_attempts": (1, MAX_ATTEMPTS_LIMIT),
}


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
    stop: Event | None = None,
) -> list[dict[str, str]]:
    """Send every entry; return one result per entry, in input order.

    entries: boto3's PutEventsRequestEntry shape; `Detail` may be a JSON string or a dict
        (serialized here); `Time` a datetime, or anything the AWS CLI takes as a timestamp:
        epoch seconds (a number, or a string of one) or ISO 8601 / RFC 3339 text in any case.
    client: a botocore/boto3 `events` client; by default one is made with a connection pool
        of `max_concurrency` (endpoint and region from the usual AWS variables).
    event_bus_name: fills entries that name no bus.
    endpoint_id: send through this EventBridge global endpoint (SigV4a; needs botocore[crt]).
    timeout: seconds; entries not confirmed by then get ErrorCode "DeadlineExceeded".
    stop: once set (say, from a SIGINT handler, as the command does), nothing more is sent, requests in
        flight get up to two seconds to answer, and the results come back at once: an entry left
        unconfirmed gets ErrorCode "Interrupted", its message saying whether it was sent.
    The numbers must lie in the ranges the function's settings allow (LIMITS), else ValueError.

    A result is {"EventId": ...} or {"ErrorCode": ..., "ErrorMessage": ...}, as in PutEvents'
    own response. Entries answered InternalFailure, InternalException or ThrottlingException,
    and those of a request that failed in a way worth retrying (5xx, 429, throttling, a lost
    connection, an answer that cannot be read), are retried (up to `max_attempts` sends each);
    an entry that succeeded is never sent twice.
    """
    check_numbers(max_request_bytes=max_request_bytes, max_concurrency=max_concurrency, max_attempts=max_attempts,
                  timeout=timeout)
    client = client or default_client(max_concurrency)
    items = [prepare(entry, event_bus_name) for entry in entries]
    # The caller's entries name their bus: of a classic bus target, only its limits and size formula apply,
    # and the caller's client (validating, as the caller's entries need) sends, with EndpointId if given.
    request = {"EndpointId": endpoint_id} if endpoint_id else {}
    options = PublishOptions(max_request_bytes, max_concurrency, max_attempts, ClassicBus.max_entries)
    publisher = Publisher(client_sender(client, **request), options)
    deadline = None if timeout is None else time.monotonic() + timeout
    return [result_of(outcome) for outcome in publisher.publish(items, deadline, stop=stop).outcomes]


def default_client(max_concurrency: int, session: Any = None, **overrides: Any) -> Any:
    """An `events` client for the publisher (which alone retries), in the region the AWS CLI would use."""
    session = session or botocore.session.get_session()
    overrides.setdefault("region_name", region(session))
    return create_client("events", max_concurrency, session=session, retries=PUT_EVENTS_RETRIES, **overrides)


def check_numbers(timeout: float | None = None, **numbers: int) -> None:
    """ValueError, in one line, for a number outside LIMITS, or a timeout that is not a positive number of seconds."""
    for name, value in numbers.items():
        low, high = LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)
                                or not 0 < timeout < math.inf):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")


def prepare(entry: Mapping[str, Any], event_bus_name: str | None = None) -> Entry | Rejected:
    """Check one entry the way botocore and the API would, so a bad entry fails alone, not its whole request.

    Every field is checked against botocore's own model of PutEventsRequestEntry (limits.EntryRules:
    known fields, types, lengths, patterns, a Time botocore can send), plus the API's DetailType limit.
    """
    if not isinstance(entry, Mapping):
        return Rejected(INVALID_ARGUMENT, f"an entry must be an object, got {type(entry).__name__}")
    fields = dict(entry)
    if event_bus_name and not fields.get("EventBusName"):
        fields["EventBusName"] = event_bus_name
    problem = _normalize(fields) or ClassicBus.rules.problem(fields)
    if problem:
        return Rejected(INVALID_ARGUMENT, problem)
    if len(fields.get("DetailType") or "") > MAX_DETAIL_TYPE_CHARS:
        return Rejected(INVALID_ARGUMENT, f"DetailType is longer than {MAX_DETAIL_TYPE_CHARS} characters")
    return Entry(fields, ClassicBus.entry_size(fields))


def _normalize(fields: dict[str, Any]) -> str | None:
    """Serialize a dict Detail and read Time as the AWS CLI does, in place; return what is wrong, if anything."""
    detail = fields.get("Detail")
    if isinstance(detail, Mapping):
        try:
            fields["Detail"] = json.dumps(detail, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError) as error:
            return f"Detail cannot be serialized as JSON: {error}"
    elif detail is not None and not isinstance(detail, str):
        return "Detail must be a JSON object or a string holding one"
    if fields.get("Time") is not None:
        try:
            # One reading for the library and the command: botocore's, the AWS CLI's.
            fields["Time"] = utc_time(fields["Time"])
        except ValueError:
            return ClassicBus.rules.member_problem("Time", fields["Time"])
    return None


def result_of(outcome: Outcome) -> dict[str, str]:
    if outcome.confirmed:
        return {"EventId": outcome.event_id}
    return {"ErrorCode": outcome.error_code or "Unknown", "ErrorMessage": outcome.error_message or ""}
