"""The fault endpoint's shared PutEvents quota, over HTTP, and the forwarder's in-flight limit against it.

The token buckets answer as EventBridge does (a request refused whole with ThrottlingException, or entries
answered ThrottlingException); the adaptive limit falls under that throttling, keeps what it learnt from one
invocation to the next of the same Forwarder, and grows back to MAX_CONCURRENCY once answers are clean.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from forwarder import handler
from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.events import sqs_event
from forwarder_testing.lambda_context import LambdaContext

pytestmark = pytest.mark.integration


def events_client(url: str):
    return boto3.client("events", endpoint_url=url, config=Config(retries={"total_max_attempts": 1}))


def put(client, count: int, tag: str = "x") -> dict:
    entries = [{"Source": "s", "DetailType": "d", "Detail": json.dumps({"n": n, "tag": tag})} for n in range(count)]
    return client.put_events(Entries=entries)


def test_requests_over_the_request_quota_are_refused_whole_as_eventbridge_refuses_them():
    # 3 tokens, refilled one per 100 s: exactly 3 requests pass, whatever the machine's speed.
    with FaultEndpoint(quota_requests_per_second=0.01, quota_burst_seconds=300) as endpoint:
        client, outcomes = events_client(endpoint.url), []
        for _ in range(6):
            try:
                outcomes.append(put(client, 2)["FailedEntryCount"])
            except ClientError as error:
                outcomes.append((error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]))
        assert outcomes == [0, 0, 0, *[("ThrottlingException", 400)] * 3]
        stats = endpoint.stats()
        assert (stats["requests"], stats["entries_accepted"], stats["faults"]["quota:request"]) == (6, 6, 3)


def test_entries_over_the_entry_quota_are_answered_throttling_exception_and_not_accepted():
    with FaultEndpoint(quota_entries_per_second=0.01, quota_burst_seconds=500) as endpoint:  # 5 entry tokens
        client = events_client(endpoint.url)
        assert put(client, 3, "a")["FailedEntryCount"] == 0
        answer = put(client, 4, "b")
        assert answer["FailedEntryCount"] == 2
        assert [entry.get("ErrorCode") for entry in answer["Entries"]] == [None, None, *["ThrottlingException"] * 2]
        assert [json.loads(detail)["tag"] for detail in map(lambda e: e["Detail"], endpoint.accepted())] == [
            *"aaa", *"bb"]
        assert endpoint.stats()["faults"]["quota:entries"] == 2


def test_the_bucket_refills_at_its_rate_and_a_new_quota_or_a_reset_starts_it_anew():
    with FaultEndpoint(quota_requests_per_second=2, quota_burst_seconds=0.5) as endpoint:  # 1 token, 2 a second
        client = events_client(endpoint.url)
        put(client, 1)
        with pytest.raises(ClientError, match="ThrottlingException"):
            put(client, 1)
        time.sleep(0.6)
        put(client, 1)  # a token came back
        endpoint.configure(quota_requests_per_second=0)
        for _ in range(5):
            put(client, 1)  # no quota at all
        endpoint.reset()  # the quota it started with, its bucket full again
        put(client, 1)
        with pytest.raises(ClientError, match="ThrottlingException"):
            put(client, 1)


# -- the adaptive limit against the quota ---------------------------------------------------------------------

CEILING = 16
LATENCY_MS = 20
QUOTA = {"quota_requests_per_second": 40, "quota_burst_seconds": 0.1}  # 40 requests/s; 4 tokens held


class Function:
    """The function as a cold start builds it (the handler's cold_start and Lambda glue, with the suite's
    environment), and the Forwarder behind it, whose publisher's limit the test reads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, url: str, mode: str, **env: str):
        for name, value in {"AWS_ENDPOINT_URL": url, "MAX_CONCURRENCY": str(CEILING), "MAX_ATTEMPTS": "20",
                            "CONCURRENCY_MODE": mode, **env}.items():
            monkeypatch.setenv(name, value)
        self.forwarder = handler.cold_start(os.environ)
        self.limit = self.forwarder.publisher.limit
        self._invoke = handler.entry_point(self.forwarder)  # flushes its metrics, as Lambda's invocations do

    def __call__(self, event: dict) -> dict:
        return self._invoke(event, LambdaContext(timeout_ms=60_000))


def invoke(function: Function, endpoint: FaultEndpoint, count: int, tag: str) -> int:
    """One invocation of `count` records, all of which must reach the bus; returns its throttled requests."""
    before = endpoint.stats()["faults"].get("quota:request", 0)
    assert function(sqs_event([json.dumps({"tag": tag, "n": n}) for n in range(count)])) == {"batchItemFailures": []}
    return endpoint.stats()["faults"].get("quota:request", 0) - before


def test_the_limit_falls_under_throttling_is_kept_by_the_next_invocation_and_recovers(monkeypatch):
    with FaultEndpoint(latency_ms=LATENCY_MS, record_accepted=True, **QUOTA) as endpoint:
        adaptive = Function(monkeypatch, endpoint.url, "adaptive")
        limit = adaptive.limit
        assert limit.limit == CEILING
        first = invoke(adaptive, endpoint, 300, "a1")
        learnt = limit.limit
        assert first > 0 and learnt < CEILING / 2  # halved at least twice

        second = invoke(adaptive, endpoint, 300, "a2")  # starts from `learnt`, not from the ceiling
        endpoint.reset()  # the same quota, bucket full, for the fixed policy
        fixed = Function(monkeypatch, endpoint.url, "fixed")
        invoke(fixed, endpoint, 300, "f1")
        fixed_second = invoke(fixed, endpoint, 300, "f2")
        assert fixed.limit.limit == CEILING
        assert second * 2 < fixed_second  # what the first invocation learnt keeps the second off the quota

        endpoint.configure(quota_requests_per_second=0)  # clean answers from now on
        invoke(adaptive, endpoint, 8000, "a3")  # from 2 to 16 takes about 540 clean answers
        assert limit.limit == CEILING
        landed = Counter(json.loads(entry["Detail"])["tag"] for entry in endpoint.accepted())
        assert landed == {"f1": 300, "f2": 300, "a3": 8000}  # since the reset: each record exactly once



CUSTOM_BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"


@pytest.mark.parametrize("bus", ["classic", "custom"])
def test_every_put_events_request_is_the_publishers_to_count_and_learn_from(monkeypatch, caplog, bus):
    """Throttled requests are retried by the publisher alone (its backoff, its attempts, the limit that
    learns from each answer), not also inside botocore's client: the endpoint sees the requests it counts."""
    from tests.integration.test_handler import log_lines

    with FaultEndpoint(quota_requests_per_second=0.01, quota_burst_seconds=100) as endpoint:  # one token
        if bus == "custom":
            monkeypatch.setenv("EVENT_BUS_NAME", CUSTOM_BUS)
            monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGEV2", endpoint.url)
        function = Function(monkeypatch, endpoint.url, "adaptive", MAX_ATTEMPTS="2")
        response = function(sqs_event([json.dumps({"n": n}) for n in range(300)]))
        stats = endpoint.stats()
    summary = next(line for line in log_lines(caplog) if line.get("message") == "batch done")
    assert response["batchItemFailures"] and stats["faults"]["quota:request"] > 0  # throttled, out of attempts
    assert stats["requests"] == summary["requests"]  # the endpoint counts refused requests on both APIs
    if bus == "custom":
        assert stats["eventbridgev2"]["requests"] == summary["requests"]
