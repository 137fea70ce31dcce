"""One warm container, hundreds of invocations against an endpoint that trickles, resets and hangs:
threads and open descriptors stay bounded (each invocation's requests end by its deadline, and what
they leave behind is closed).

The fault endpoint runs as a process of its own, so that only the handler's threads and descriptors
are counted here; the quarantine queue is moto (also a process of its own).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator

import pytest

from forwarder_testing.endpoint_process import EndpointProcess
from forwarder_testing.events import sqs_event
from forwarder_testing.lambda_context import LambdaContext

pytestmark = pytest.mark.integration

BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
FAULTS = {
    # One byte every 200 ms never trips the 5 s read timeout: without a deadline on the whole answer, each
    # such request would hold its thread and socket for a minute.
    "request_faults": {"trickle": 0.3, "reset": 0.15, "slow": 0.15, "accepted_hang": 0.1},
    "trickle_ms": 200, "slow_ms": 6000,
    "detail_rules": [{"contains": "poison", "code": "MalformedDetail"}],
}
INVOCATIONS = 150
CONCURRENCY = 8
WARM_UP = 15  # the first invocations open the connections and threads a warm container keeps


@pytest.fixture
def fault_endpoint() -> Iterator[EndpointProcess]:
    with EndpointProcess(FAULTS) as endpoint:
        yield endpoint


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("bus", ["classic", "custom"])
def test_threads_and_descriptors_stay_bounded_over_warm_invocations(fault_endpoint, cold_start, clients, bus):
    poison_url = clients("sqs").create_queue(QueueName="poison")["QueueUrl"]
    env = {"AWS_ENDPOINT_URL": fault_endpoint.url, "AWS_ENDPOINT_URL_SQS": poison_url.rsplit("/", 2)[0],
           "POISON_QUEUE_URL": poison_url, "DEADLINE_MARGIN_MS": "1000", "MAX_CONCURRENCY": str(CONCURRENCY)}
    if bus == "custom":
        env["EVENT_BUS_NAME"] = BUS
    handler = cold_start(**env)
    bodies = [json.dumps({"n": n}) for n in range(60)] + ['{"poison": 1}']
    threads, descriptors, slowest = [], [], 0.0
    for _ in range(INVOCATIONS):
        started = time.monotonic()
        response = handler(sqs_event(bodies), LambdaContext(timeout_ms=1100))  # 0.1 s to publish
        slowest = max(slowest, time.monotonic() - started)
        assert set(response) == {"batchItemFailures"}
        threads.append(threading.active_count())
        descriptors.append(open_descriptors())
    faults = fault_endpoint.stats()["faults"]
    assert faults.get("trickle", 0) > 20 and faults.get("slow", 0) > 10  # the endpoint did misbehave
    assert slowest < 1.0  # every invocation returned before Lambda's timeout
    # At most one invocation's pool still winding down (its threads, each with a socket), never an
    # accumulation over the invocations. (Unbounded, they pile up: hundreds of threads by the end.)
    assert max(threads[WARM_UP:]) <= max(threads[:WARM_UP]) + CONCURRENCY + 2, threads
    assert max(descriptors[WARM_UP:]) <= max(descriptors[:WARM_UP]) + 2 * CONCURRENCY + 4, descriptors
