"""The visibility backoff in the simulation, through the real handler: a reported record comes back when the
function chose, on the queue's virtual clock; and onto a Custom Event Bus whose 5-minute window runs on that
clock, a record whose answer was lost and that was then reported comes back inside the window (no duplicate),
where after the queue's own 6-minute visibility timeout it would be published twice.
"""

from __future__ import annotations

import json

import pytest

from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.lambda_context import LambdaContext
from forwarder_testing.simulation import InProcess, Message, SqsSource, drive
from forwarder_testing.simulation.sqs_peer import SqsPeer
from tools.soak import SCENARIOS, TIMEOUT_MS, account, endpoint_config, handler_env, make_messages, make_source

pytestmark = pytest.mark.integration

QUEUE_TIMEOUT = 6 * TIMEOUT_MS / 1000  # 360 s, as the template sets it for its default function timeout


def invoker(handler):
    return InProcess(lambda event: handler(event, LambdaContext(timeout_ms=TIMEOUT_MS)))


@pytest.mark.parametrize(("backoff", "longest"), [("20", 10), ("off", None)])
def test_a_reported_record_comes_back_when_the_function_chose(backoff, longest, cold_start):
    messages = [Message(f"m{i}", json.dumps({"id": f"m{i}"})) for i in range(5)]
    with FaultEndpoint(entry_schedule=["AccessDeniedException"]) as endpoint, SqsPeer() as peer:
        handler = cold_start(AWS_ENDPOINT_URL_EVENTBRIDGE=endpoint.url, AWS_ENDPOINT_URL_SQS=peer.url,
                             VISIBILITY_BACKOFF_MAX_SECONDS=backoff, VISIBILITY_BACKOFF_BASE_SECONDS="10")
        source = SqsSource(messages, batch_size=5, visibility_timeout=QUEUE_TIMEOUT, peer=peer)
        tally = drive(source, invoker(handler))
    assert tally.reported == 1 and source.remaining == 0
    (recovered,) = tally.recovered
    if longest is None:  # no call: the queue's own timeout
        assert peer.calls == 0 and recovered >= QUEUE_TIMEOUT
    else:  # a first receive: at most the base, and a second of the clock
        assert peer.calls == 1 and recovered <= longest + 1


def lost_answer_then_reported(visibility_backoff: bool, cold_start) -> dict:
    """100 messages, one eventbridgev2 request: accepted but its answer lost (a reset), and botocore's retry
    of it answered AccessDeniedException for every entry, so all are reported although on the bus."""
    scenario = SCENARIOS["standard-v2"]
    messages = make_messages(scenario, 100, seed=3)
    config = {**endpoint_config(seed=3), "entry_faults": {}, "request_faults": {},
              "request_schedule": ["accepted_reset"], "entry_schedule": ["ok"] * 100 + ["AccessDeniedException"] * 100}
    with FaultEndpoint(**config) as endpoint, SqsPeer() as peer:
        env = handler_env(endpoint.url, peer.url, None, custom_bus=True, visibility_backoff=visibility_backoff)
        handler = cold_start(**env)
        tally = drive(make_source(scenario, messages, peer=peer), invoker(handler),
                      clock=lambda now: endpoint.configure(virtual_now=now))
        return account(scenario, messages, endpoint, tally, [], 0.0)


def test_on_a_custom_bus_a_retry_inside_the_window_is_deduplicated(cold_start):
    before = lost_answer_then_reported(False, cold_start)
    after = lost_answer_then_reported(True, cold_start)
    assert before["lost"] == after["lost"] == 0
    assert before["reported"] == after["reported"] == 100
    # before: back after 360 s, past the 300 s window: published again
    assert before["duplicates"] == before["duplicates_by_deduplication_id"] == 100
    assert before["recovery_p50_s"] >= QUEUE_TIMEOUT
    # after: back within the backoff's first step, answered DEDUPLICATED
    assert after["duplicates"] == after["duplicates_by_deduplication_id"] == 0
    assert after["entries_deduplicated"] == 100
    assert after["recovery_max_s"] <= 11
