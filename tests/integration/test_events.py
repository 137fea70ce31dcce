"""Every sample in events/ through the handler, against the fault-injecting endpoint over HTTP."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EVENTS

pytestmark = pytest.mark.integration
INVOCATION_TRACE = "Root=1-6740a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"

# Entries on the bus per sample, where it is not one per record; and what is reported.
ON_BUS = {"kinesis-kpl": 4, "kinesis-poison": 2}
REPORTED = {"kinesis-poison": ["49667123456789012345678901234567890123456789012345679102"]}



@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.stem)
def test_every_sample_is_forwarded_or_reported(path, endpoint, cold_start, context):
    event = json.loads(path.read_text())
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    response = handler(event, context)
    reported = [failure["itemIdentifier"] for failure in response["batchItemFailures"]]
    assert reported == REPORTED.get(path.stem, [])
    assert len(endpoint.accepted()) == ON_BUS.get(path.stem, len(event["Records"]))


def test_trace_headers_continue_from_the_producer(endpoint, cold_start, context, monkeypatch):
    # GIVEN two records with AWSTraceHeader (one with a Lineage part) and one without, in a traced invocation
    monkeypatch.setenv("_X_AMZN_TRACE_ID", INVOCATION_TRACE)
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    event = json.loads((EVENTS / "sqs-trace.json").read_text())
    # WHEN they are forwarded
    assert handler(event, context) == {"batchItemFailures": []}
    # THEN each entry carries its producer's header, and the one without carries the invocation's
    expected = [r["attributes"].get("AWSTraceHeader", INVOCATION_TRACE) for r in event["Records"]]
    assert sorted(e["TraceHeader"] for e in endpoint.accepted()) == sorted(expected)


def test_fifo_sample_keeps_each_group_in_order(endpoint, cold_start, context):
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url)
    event = json.loads((EVENTS / "sqs-fifo.json").read_text())
    assert handler(event, context) == {"batchItemFailures": []}
    sent = [entry["Detail"] for entry in endpoint.accepted()]  # in the order the endpoint accepted them
    for group in {r["attributes"]["MessageGroupId"] for r in event["Records"]}:
        bodies = [r["body"] for r in event["Records"] if r["attributes"]["MessageGroupId"] == group]
        assert [d for d in sent if d in bodies] == bodies
