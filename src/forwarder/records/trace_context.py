"""W3C trace context (`traceparent`) -> an X-Ray trace header, for producers instrumented with OpenTelemetry.

OpenTelemetry's SQS and SNS instrumentation carries the trace as a `traceparent` message attribute
instead of SQS's `AWSTraceHeader`. EventBridge continues only an X-Ray `TraceHeader`, so a valid
traceparent is written the way OpenTelemetry's AWS X-Ray propagator writes it:

    00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01
    -> Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1

Validity is the W3C Trace Context grammar (https://www.w3.org/TR/trace-context/#traceparent-header):
lowercase hex only; version `ff` is invalid; trace id and parent id not all zeros; version 00 is
exactly four fields; a later version may carry more fields after a `-`, of which only the first four
are read. Anything else yields None and the record simply carries no trace from its attributes.
The precedence (AWSTraceHeader, then traceparent, then the invocation's own header) is the
caller's, in records/sqs.py and targets/buses.py: a header that cannot be sent (`usable`, core/trace_header.py:
not a string, empty, or longer than PutEvents' 500 characters) is passed over for the next.
"""

from __future__ import annotations

import re
from typing import Any

TRACEPARENT = "traceparent"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?", re.DOTALL)
_ZERO_TRACE_ID = "0" * 32
_ZERO_PARENT_ID = "0" * 16


def xray_header(traceparent: Any) -> str | None:
    """The X-Ray trace header of a valid traceparent string, else None."""
    if not isinstance(traceparent, str):
        return None
    match = _TRACEPARENT.fullmatch(traceparent)
    if match is None:
        return None
    version, trace_id, parent_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == _ZERO_TRACE_ID or parent_id == _ZERO_PARENT_ID:
        return None
    sampled = int(flags, 16) & 1
    return f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={parent_id};Sampled={sampled}"


def from_sqs_attributes(message_attributes: Any) -> str | None:
    """The X-Ray header of an SQS record's `traceparent` message attribute (`stringValue`), if valid."""
    attribute = message_attributes.get(TRACEPARENT) if isinstance(message_attributes, dict) else None
    return xray_header(attribute.get("stringValue")) if isinstance(attribute, dict) else None


def from_sns_attributes(message_attributes: Any) -> str | None:
    """The X-Ray header of an SNS envelope's `traceparent` MessageAttribute (`Value`), if valid."""
    attribute = message_attributes.get(TRACEPARENT) if isinstance(message_attributes, dict) else None
    return xray_header(attribute.get("Value")) if isinstance(attribute, dict) else None
