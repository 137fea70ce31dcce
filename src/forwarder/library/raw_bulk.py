"""PutRawEvents for any number of entries, on a Custom Event Bus: the forwarder's engine, for your own code.

    from forwarder import put_raw_events

    results = put_raw_events([{"Data": avro_bytes, "SystemMetadata": {"ContentType": "application/avro"}}] * 5000,
                             event_bus_arn="arn:aws:events:us-east-1:123456789012:event-busv2/orders/...")

The same engine as `put_events` (bulk.py) and the function's raw mode: entries packed by the model's count
(100) and their bytes, sent concurrently, only retryable failures retried, an optional timeout over it all,
and the entries of one `EventGroupId` confirmed one after another so that their order holds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from threading import Event
from typing import Any

from forwarder.config.settings import (
    CUSTOM_BUS_PATTERN,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CONCURRENCY,
)
from forwarder.core.codes import INVALID_ARGUMENT
from forwarder.core.items import Entry, Rejected
from forwarder.core.outcomes import Outcome
from forwarder.entries.raw_format import detected_content_type, raw_entry_size, raw_rules
from forwarder.library.bulk import check_numbers
from forwarder.net.clients import create_client
from forwarder.publish.options import PublishOptions
from forwarder.publish.publisher import Publisher
from forwarder.targets.buses import PUT_EVENTS_RETRIES, client_sender


def put_raw_events(
    entries: Iterable[Mapping[str, Any]],
    *,
    event_bus_arn: str,
    client: Any = None,
    schema_registry: Mapping[str, Any] | None = None,
    max_request_bytes: int = DEFAULT_MAX_BYTES,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    timeout: float | None = None,
    stop: Event | None = None,
) -> list[dict[str, str]]:
    """Send every entry; return one result per entry, in input order.

    entries: boto3's PutRawEventsRequestEntry shape: `Data` bytes (a str is sent as its UTF-8), `Metadata`
        an optional map of strings, `SystemMetadata` with `ContentType` (detected from Data when missing:
        application/cloudevents+json, application/json or application/octet-stream), and optional
        `DeduplicationId` and `EventGroupId`. Each is checked against botocore's model, so a bad one fails
        alone with InvalidArgument.
    event_bus_arn: the Custom Event Bus (`arn:...:event-busv2/NAME/ID`); a ValueError otherwise.
    client: a botocore/boto3 `eventbridgev2` client; by default one is made for the bus's region.
    schema_registry: the requests' SchemaRegistryConfiguration ({"RegistryUri": ...}).
    timeout: seconds; entries not confirmed by then get ErrorCode "DeadlineExceeded".
    stop: once set, nothing more is sent and the results come back at once, as in `put_events` (bulk.py).
    The numbers must lie in the ranges the function's settings allow (bulk.LIMITS), else ValueError.

    A result is {"EventId": ...} (published, or deduplicated by the bus) or {"ErrorCode": ..., "ErrorMessage": ...}.
    """
    if not isinstance(event_bus_arn, str) or not CUSTOM_BUS_PATTERN.fullmatch(event_bus_arn):
        raise ValueError(f"event_bus_arn must be a Custom Event Bus ARN (arn:...:event-busv2/NAME/ID), got "
                         f"{event_bus_arn!r}")
    check_numbers(max_request_bytes=max_request_bytes, max_concurrency=max_concurrency, max_attempts=max_attempts,
                  timeout=timeout)
    client = client or raw_client(max_concurrency, region_name=event_bus_arn.split(":")[3])
    request: dict[str, Any] = {"EventBusArn": event_bus_arn}
    if schema_registry:
        request["SchemaRegistryConfiguration"] = dict(schema_registry)
    items = [prepare_raw(entry) for entry in entries]
    options = PublishOptions(max_request_bytes, max_concurrency, max_attempts, raw_rules().max_entries)
    publisher = Publisher(client_sender(client, "put_raw_events", **request), options)
    deadline = None if timeout is None else time.monotonic() + timeout
    return [result_of(outcome) for outcome in publisher.publish(items, deadline, stop=stop).outcomes]


def raw_client(max_concurrency: int, session: Any = None, **overrides: Any) -> Any:
    """An `eventbridgev2` client for the publisher (which alone retries); `region_name` the bus's."""
    return create_client("eventbridgev2", max_concurrency, session=session, retries=PUT_EVENTS_RETRIES, **overrides)


def prepare_raw(entry: Mapping[str, Any]) -> Entry | Rejected:
    """One caller's entry checked against the model of PutRawEventsRequestEntry, its size counted."""
    if not isinstance(entry, Mapping):
        return Rejected(INVALID_ARGUMENT, f"an entry must be an object, got {type(entry).__name__}")
    fields = dict(entry)
    if isinstance(fields.get("Data"), str):
        fields["Data"] = fields["Data"].encode("utf-8", "surrogatepass")
    system = fields.get("SystemMetadata")
    if system is None or (isinstance(system, Mapping) and "ContentType" not in system):
        data = fields.get("Data")
        text = _text(data) if isinstance(data, bytes | bytearray) else None
        fields["SystemMetadata"] = {**(system or {}), "ContentType": detected_content_type(text)}
    problem = raw_rules().problem(fields)
    if problem:
        return Rejected(INVALID_ARGUMENT, problem)
    group = fields["SystemMetadata"].get("EventGroupId")
    return Entry(fields, raw_entry_size(fields), group)


def _text(data: bytes | bytearray) -> str | bytes:
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return bytes(data)


def result_of(outcome: Outcome) -> dict[str, str]:
    if outcome.confirmed:
        return {"EventId": outcome.event_id}
    return {"ErrorCode": outcome.error_code or "Unknown", "ErrorMessage": outcome.error_message or ""}
