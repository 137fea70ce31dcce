"""A fault-injecting Amazon EventBridge PutEvents endpoint on 127.0.0.1, for tests and benchmarks.

It speaks the EventBridge JSON protocol (awsJson1_1: ``POST /`` with ``X-Amz-Target: AWSEvents.PutEvents``),
so a real boto3 ``events`` client with ``endpoint_url=endpoint.url`` (dummy credentials, us-east-1) works
against it. It validates like the real service, records every entry it accepted, and injects faults on
demand. Errors carry ``__type`` (what botocore's JSON parser reads) and ``x-amzn-ErrorType``, so boto3
raises proper ``ClientError`` codes and botocore's retry modes see throttling and 5xx as retryable.

The same server also speaks the eventbridgev2 API (Custom Event Bus: ``POST
/service/AWSEventsV2/operation/PutEvents``, Smithy RPC v2 CBOR), so a boto3 ``eventbridgev2`` client with
the same ``endpoint_url`` works too: same config, faults, detail rules and stats, plus a deduplication
window. Its wire format, dedup rules and accepted-entry shape are in ``fault_endpoint/v2.py``.

This module is the endpoint's front door; its parts are in the ``fault_endpoint`` package (listed in its
``__init__``). The config keys and the request fault kinds are listed in ``fault_endpoint/config.py``.

In a test (same process)::

    with FaultEndpoint(latency_ms=0) as ep:
        ep.configure(request_schedule=["http503"], detail_rules=[{"contains": "poison",
                                                                  "code": "MalformedDetail"}])
        ...  # boto3.client("events", endpoint_url=ep.url, ...)
        ep.accepted()   # list of accepted entries, in order, each with its "EventId"
        ep.stats()      # counts of requests, entries, faults injected and rejections, by kind
        ep.accepted_v2()  # only the eventbridgev2 entries (each has "Api": "eventbridgev2")

As its own process (the first stdout line is the URL; SIGTERM or SIGINT stops it)::

    python -m forwarder_testing.eventbridge_endpoint --port 0 --latency-ms 10 [--seed 7] [--config '{...}']

Control routes (JSON in and out; answered without latency or faults):

    GET  /_fault/config            the current config
    POST /_fault/config            merge the given keys into the config (unknown key -> 400); returns it
    POST /_fault/reset             forget accepted entries and stats, restore the starting config, reseed
    GET  /_fault/accepted?since=N  {"count": total, "entries": accepted entries from index N on}
                                   (both APIs, in order; eventbridgev2 entries carry "Api": "eventbridgev2")
    GET  /_fault/accepted_v2?since=N   the same over the eventbridgev2 entries only
    GET  /_fault/stats             {"requests", "entries_received", "entries_accepted",
                                    "faults": {kind: n}, "rejections": {kind: n},
                                    "entries_deduplicated", "eventbridgev2": {"requests", "entries_received",
                                    "entries_accepted", "entries_deduplicated", "dedup_keys" (keys held in
                                    the window)}}  (the top-level counts cover both APIs)
    GET  /_fault/ambiguous?since=N {"count": total, "event_ids": EventIds from index N on} of the entries
                                   accepted in a request whose answer the client may not have seen
                                   (slow, accepted_hang, accepted_reset): the only honest source of
                                   duplicates, so a soak can explain each one
"""

from __future__ import annotations

import sys

from .fault_endpoint.config import AMBIGUOUS_FAULT_KINDS, REQUEST_FAULT_KINDS, FaultConfig
from .fault_endpoint.handler import Handler
from .fault_endpoint.server import EndpointServer, FaultEndpoint, main
from .fault_endpoint.state import FaultState
from .fault_endpoint.validation import RequestError, detail_is_well_formed, entry_size

__all__ = [
    "AMBIGUOUS_FAULT_KINDS",
    "REQUEST_FAULT_KINDS",
    "EndpointServer",
    "FaultConfig",
    "FaultEndpoint",
    "FaultState",
    "Handler",
    "RequestError",
    "detail_is_well_formed",
    "entry_size",
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
