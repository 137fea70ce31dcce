"""The kind of target, chosen once from the settings: everything that differs between the four.

- `ClassicBus`: `events` PutEvents through the wire path (net/wire.py); each entry names the bus and
  carries the record's trace header; the order kept is an SQS FIFO message group's.
- `GlobalEndpoint`: the same entries through botocore's client with EndpointId (SigV4a and the
  endpoint's routing rules, which only botocore's full request path implements).
- `CustomBus`: `eventbridgev2` PutEvents through botocore's client (CBOR), naming the bus once per
  request; each entry carries SystemMetadata (a DeduplicationId, so that the bus drops what it was
  sent before, and an EventGroupId, the FIFO group or the Kinesis partition key, whose order it keeps).
- `RawBus`: a Custom Event Bus's PutRawEvents (EVENT_PAYLOAD=raw): the same SystemMetadata beside each
  record's payload as Data, its ContentType and Metadata (entries/raw_entries.py builds them), and the request's
  SchemaRegistryConfiguration when one is set.

A target (the protocol: target.py) says how many entries a request takes and which limits apply (its service
model's, limits.py), completes an entry with the fields only it takes, counts an entry's size, sends a request
(every send ends by the invocation's deadline: net/clients.py's bounded_by), and says how long its bus drops an
entry it was sent before (the visibility backoff keeps a reported record's return within that window).
`target_for` is the one place that reads which kind of bus the settings name.

A bus named by its ARN may belong to another account or region: its client is made for the ARN's region,
so its requests go to that region's endpoint and are signed for it (docs/deploy.md says what the bus's
resource policy must allow). Through a global endpoint the endpoint decides the region instead.
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, Any

import botocore.session

from forwarder.config.settings import Settings
from forwarder.core.protocols import Send
from forwarder.core.sizes import utf8_length
from forwarder.core.trace_header import usable
from forwarder.entries.raw_format import raw_entry_size
from forwarder.net.clients import bounded_by, close_connections, create_client
from forwarder.net.wire import WirePutEvents
from forwarder.targets.limits import CLASSIC_RULES, entry_rules

if TYPE_CHECKING:  # the record readers import Powertools: the library (library/bulk.py) goes without them
    from forwarder.records.record import SourceRecord

MAX_ID_CHARS = 128  # Custom Event Bus EventGroupId and DeduplicationId
DEDUPLICATION_WINDOW_SECONDS = 300  # a Custom Event Bus drops a DeduplicationId it was sent in the last 5 minutes
_TIME_BYTES = 14  # AWS counts a set Time as 14 bytes


def entry_size(fields: dict) -> int:
    """AWS's "Calculating PutEvents event entry size"; TraceHeader and EventBusName do not count."""
    size = _TIME_BYTES if fields.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        text = fields.get(key)
        if text:
            size += utf8_length(text)
    for resource in fields.get("Resources") or ():
        size += utf8_length(resource)
    return size


class ClassicBus:
    """A classic event bus; `send` is the request path (the wire path, or a botocore client's)."""

    rules = CLASSIC_RULES
    max_entries = CLASSIC_RULES.max_entries
    dedup_window_seconds = None  # a classic bus deduplicates nothing

    def __init__(self, bus_name: str, send: Send, client: Any = None):
        self.bus_name = bus_name
        self.send = send
        self.client = client  # the botocore client behind `send`, if any

    def close_connections(self) -> None:
        if isinstance(self.send, WirePutEvents):
            self.send.close_connections()
        if self.client is not None:
            close_connections(self.client)

    def complete(self, fields: dict[str, Any], record: SourceRecord, fallback_trace: str | None) -> str | None:
        fields["EventBusName"] = self.bus_name
        if (moment := fields.get("Time")) is not None and isinstance(self.send, WirePutEvents):
            # The epoch seconds the wire path writes (wire.request_body), taken here once: json.dumps would
            # otherwise call its `default` hook for each entry of each request (a quarter of the body's encoding).
            fields["Time"] = moment.timestamp()
        # The record's own, else the invocation's: the first that PutEvents can take (a longer one would make the
        # whole request fail).
        trace = usable(record.trace_header) or usable(fallback_trace)
        if trace:
            fields["TraceHeader"] = trace
        return record.group

    entry_size = staticmethod(entry_size)  # AWS's formula, in which TraceHeader and EventBusName do not count


class GlobalEndpoint(ClassicBus):
    """A classic bus reached through an EventBridge global endpoint: botocore's client with EndpointId."""

    def __init__(self, bus_name: str, client: Any, endpoint_id: str):
        super().__init__(bus_name, client_sender(client, EndpointId=endpoint_id), client)
        self.endpoint_id = endpoint_id


class CustomBus:
    """A Custom Event Bus (eventsv2). It has no TraceHeader field, and takes its ARN per request."""

    dedup_window_seconds = DEDUPLICATION_WINDOW_SECONDS

    def __init__(self, bus_arn: str, client: Any, event_groups: bool = True):
        self.rules = entry_rules("eventbridgev2")
        self.max_entries = self.rules.max_entries
        self.event_groups = event_groups  # EventGroupId from the FIFO group or the partition key
        self.client = client
        self.send = client_sender(client, EventBusArn=bus_arn)

    def close_connections(self) -> None:
        close_connections(self.client)

    def complete(self, fields: dict[str, Any], record: SourceRecord, fallback_trace: str | None) -> str | None:
        metadata = {"DeduplicationId": deduplication_id(record)}
        group = record.group or (record.partition_key if self.event_groups else None)
        if group and self.event_groups:
            metadata["EventGroupId"] = group if len(group) <= MAX_ID_CHARS else _digest(group)
        fields["SystemMetadata"] = metadata
        return group

    @staticmethod
    def entry_size(fields: dict[str, Any]) -> int:
        # The system metadata is counted too: AWS documents no formula for it, so be safe.
        return entry_size(fields) + sum(utf8_length(value) for value in fields["SystemMetadata"].values())


class RawBus(CustomBus):
    """A Custom Event Bus's PutRawEvents: its model's limits (entries per request, Metadata), and its sizes."""

    def __init__(self, bus_arn: str, client: Any, event_groups: bool = True, schema_registry: dict | None = None):
        super().__init__(bus_arn, client, event_groups)
        self.rules = entry_rules("eventbridgev2", "PutRawEvents")
        self.max_entries = self.rules.max_entries
        request: dict[str, Any] = {"EventBusArn": bus_arn}
        if schema_registry:
            request["SchemaRegistryConfiguration"] = schema_registry
        self.send = client_sender(client, "put_raw_events", **request)

    def complete(self, fields: dict[str, Any], record: SourceRecord, fallback_trace: str | None) -> str | None:
        content_type = fields["SystemMetadata"]["ContentType"]  # raw_entries' part of the system metadata
        group = super().complete(fields, record, fallback_trace)
        fields["SystemMetadata"]["ContentType"] = content_type
        return group

    entry_size = staticmethod(raw_entry_size)


# No retry of PutEvents inside botocore: the publisher retries (its backoff and attempts), and its in-flight
# limit learns from every answer, as on the wire path. botocore's retries on top sent up to four requests per
# attempt into a throttled quota, unseen by the limit and uncounted in PutEventsRequests.
PUT_EVENTS_RETRIES = 0


def target_for(settings: Settings, session: Any = None) -> ClassicBus | CustomBus:
    """The one place where the kind of target is decided, with its client made for the settings (from
    `session`, the botocore session the forwarder's clients share, or a new one)."""
    session = session or botocore.session.get_session()
    # A bus named by its ARN may be in another region (and account): a bus takes events only at its own
    # region's endpoint, so the client is made for that region, which its requests are also signed for.
    bus_region = settings.bus_region
    region = {"region_name": bus_region} if bus_region else {}
    if settings.custom_bus:
        # No client-side parameter validation here either (about a tenth of this client's CPU per record): every
        # entry the two Custom Event Bus targets build passes botocore's validator for PutEvents and PutRawEvents
        # by construction (tests/unit/test_custom_bus_validation.py holds them to it, for any record).
        client = create_client("eventbridgev2", settings.max_concurrency, validate=False, session=session,
                               retries=PUT_EVENTS_RETRIES, **region)
        if settings.raw is not None:
            return RawBus(settings.event_bus_name, client, settings.event_groups, settings.raw.schema_registry)
        return CustomBus(settings.event_bus_name, client, settings.event_groups)
    # No client-side parameter validation (a fifth of botocore's CPU per request): build_entry, batching and
    # Settings guarantee what it checks for PutEvents (string fields, 1..10 entries, non-empty bus name and
    # trace header, a valid endpoint id). bulk.put_events, which takes the caller's entries, keeps it.
    if settings.endpoint_id:
        # The endpoint, not a region, decides where events go (its primary or secondary region's bus).
        client = create_client("events", settings.max_concurrency, validate=False, session=session,
                               retries=PUT_EVENTS_RETRIES)
        return GlobalEndpoint(settings.event_bus_name, client, settings.endpoint_id)
    client = create_client("events", settings.max_concurrency, validate=False, session=session,
                           retries=PUT_EVENTS_RETRIES, **region)
    # The same requests for a fraction of the CPU (net/wire.py says what it keeps from botocore and why).
    return ClassicBus(settings.event_bus_name, WirePutEvents(session, client), client)


def client_sender(client: Any, operation: str = "put_events", **request: Any) -> Send:
    """`send` through a botocore client's put_events (or put_raw_events), with the request's fixed members
    (EndpointId, EventBusArn, SchemaRegistryConfiguration)."""
    call = getattr(client, operation)

    def send(entries: list[dict], deadline: float = math.inf) -> Any:
        with bounded_by(deadline):
            return call(Entries=entries, **request)

    return send


def deduplication_id(record: SourceRecord) -> str:
    """The record's identity at its source, the same on every redelivery, unique per record.

    SQS: queue ARN and messageId; Kinesis: stream ARN, sequence number and, inside a KPL
    aggregate, the sub-sequence; DynamoDB Streams: stream ARN and sequence number. Hashed to
    stay within the API's 128 characters whatever the ARN's length.
    """
    source_arn = (record.raw or {}).get("eventSourceARN", "")
    # A malformed event may carry any JSON value here; its repr is as stable across redeliveries.
    parts = [source_arn if isinstance(source_arn, str) else repr(source_arn), record.item_id]
    if record.sub_sequence is not None:
        parts.append(str(record.sub_sequence))
    return _digest("/".join(parts))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
