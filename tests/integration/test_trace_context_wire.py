"""A traceparent message attribute reaches the bus as the entry's X-Ray TraceHeader, on the real request path."""

from __future__ import annotations

import json

import pytest

from forwarder_testing.events import sqs_record

pytestmark = pytest.mark.integration

TRACEPARENT = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
AWS_TRACE = "Root=1-6740a1b2-0123456789abcdef01234567;Parent=1111111111111111;Sampled=0"
INVOCATION_TRACE = "Root=1-6740a1b2-fedcba9876543210fedcba98;Parent=0000000000000001;Sampled=1"


def with_traceparent(body: str, value: str, aws_trace: str | None = None) -> dict:
    record = sqs_record(body, trace=aws_trace)
    record["messageAttributes"] = {"traceparent": {"stringValue": value, "dataType": "String"}}
    return record


def sns_notification(message: str, traceparent: str) -> str:
    return json.dumps({
        "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
        "Message": message, "Timestamp": "2025-11-22T10:00:00.000Z",
        "MessageAttributes": {"traceparent": {"Type": "String", "Value": traceparent}},
    })


def test_the_trace_header_on_the_wire_follows_the_documented_precedence(cold_start, endpoint, context, monkeypatch):
    # GIVEN the invocation's own trace, and records carrying each kind of trace context
    monkeypatch.setenv("_X_AMZN_TRACE_ID", INVOCATION_TRACE)
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    event = {"Records": [
        with_traceparent('{"n": "traceparent"}', TRACEPARENT),
        with_traceparent('{"n": "both"}', TRACEPARENT, aws_trace=AWS_TRACE),
        with_traceparent('{"n": "invalid"}', TRACEPARENT.replace("00-", "ff-", 1)),
        sqs_record(sns_notification('{"n": "sns"}', TRACEPARENT)),
    ]}
    # WHEN the batch is forwarded through the wire path to the endpoint
    assert forwarder(event, context) == {"batchItemFailures": []}
    # THEN each entry the endpoint accepted carries the trace that comes first for it
    traces = {json.loads(entry["Detail"])["n"]: entry.get("TraceHeader") for entry in endpoint.accepted()}
    assert traces == {"traceparent": XRAY, "both": AWS_TRACE, "invalid": INVOCATION_TRACE, "sns": XRAY}


def test_an_aws_trace_header_past_500_characters_falls_back_like_any_unusable_one(
    cold_start, endpoint, context, monkeypatch
):
    # GIVEN AWSTraceHeaders longer than PutEvents' TraceHeader takes, one beside a traceparent, one alone
    monkeypatch.setenv("_X_AMZN_TRACE_ID", INVOCATION_TRACE)
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    too_long = AWS_TRACE + ";Lineage=" + "a" * 500
    event = {"Records": [
        with_traceparent('{"n": "traceparent"}', TRACEPARENT, aws_trace=too_long),
        sqs_record('{"n": "alone"}', trace=too_long),
        sqs_record('{"n": "at the limit"}', trace=AWS_TRACE + ";Lineage=" + "a" * (500 - len(AWS_TRACE) - 9)),
    ]}
    # WHEN the batch is forwarded through the wire path
    assert forwarder(event, context) == {"batchItemFailures": []}
    # THEN the next header in the precedence is sent: the traceparent's, else the invocation's own
    traces = {json.loads(entry["Detail"])["n"]: entry.get("TraceHeader") for entry in endpoint.accepted()}
    assert traces["traceparent"] == XRAY
    assert traces["alone"] == INVOCATION_TRACE
    assert len(traces["at the limit"]) == 500
