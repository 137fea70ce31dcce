"""A short soak in the test suite: the full one is `make soak` (tools/soak/).

The handler runs in this process (one warm execution environment) behind the simulated event
source, against the fault endpoint in a thread with the soak's fault mix; FIFO quarantines poison
records into a moto queue. Every message must be on the bus, parked or quarantined, and every
duplicate must trace back to an ambiguous fault or to the source delivering a record again. Onto a
Custom Event Bus there must be no duplicate at all: what would have been one comes back DEDUPLICATED.
"""

from __future__ import annotations

import time

import pytest

from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.lambda_context import LambdaContext
from forwarder_testing.simulation import InProcess, drive
from forwarder_testing.simulation.sqs_peer import SqsPeer
from tools.soak import (
    SCENARIOS,
    TIMEOUT_MS,
    account,
    endpoint_config,
    handler_env,
    make_messages,
    make_source,
    problems,
    quarantined_keys,
)

pytestmark = pytest.mark.integration

SIZES = {"standard": 3000, "fifo": 500, "kinesis": 1000}
# Custom Event Bus: requests of 100 entries are few, so the first two requests are made ambiguous (entries
# accepted, answer lost) for sure; the soak's fault mix follows.
SIZES_V2 = {"standard-v2": 1000, "fifo-v2": 200, "kinesis-v2": 400}
AMBIGUOUS_FIRST = ["accepted_reset", "accepted_hang"]
# Raw mode (EVENT_PAYLOAD=raw): the same onto the Custom Event Bus through PutRawEvents.
SIZES_RAW = {"standard-raw": 1000, "fifo-raw": 200, "kinesis-raw": 400}


def short_soak(name: str, size: int, cold_start, aws, clients, **config) -> dict:
    scenario = SCENARIOS[name]
    messages = make_messages(scenario, size, seed=11)
    # SqsPeer: the function's visibility calls set when the simulated queue redelivers; the rest goes to moto.
    with FaultEndpoint(**{**endpoint_config(seed=11), **config}) as endpoint, SqsPeer(aws) as peer:
        sqs = clients("sqs")
        poison_url = sqs.create_queue(QueueName="poison")["QueueUrl"] if scenario.quarantine else None
        handler = cold_start(**handler_env(endpoint.url, peer.url, poison_url, scenario.custom_bus,
                                           raw_payload=scenario.raw_payload))

        def invoke(event: dict) -> dict:
            return handler(event, LambdaContext(timeout_ms=TIMEOUT_MS))

        started = time.monotonic()
        tally = drive(make_source(scenario, messages, peer=peer), InProcess(invoke),
                      clock=lambda now: endpoint.configure(virtual_now=now))  # the dedup window's clock
        quarantine = quarantined_keys(sqs, poison_url) if poison_url else []
        return account(scenario, messages, endpoint, tally, quarantine, time.monotonic() - started)


@pytest.mark.parametrize("name", list(SIZES))
def test_short_soak_loses_nothing_and_explains_every_duplicate(name, cold_start, aws, clients):
    result = short_soak(name, SIZES[name], cold_start, aws, clients)
    assert problems(result) == []
    assert result["lost"] == 0 and result["duplicates_unexplained"] == 0
    assert sum(result["faults_injected"].values()) > 0.15 * SIZES[name]  # the faults did happen
    # every poison message is parked (DLQ, on-failure destination or quarantine), none is on the bus
    assert sum(result["parked"].values()) - sum(result["healthy_parked"].values()) == result["poison"] > 0


@pytest.mark.parametrize("name", list(SIZES_V2))
def test_short_soak_onto_a_custom_event_bus_has_no_duplicates(name, cold_start, aws, clients):
    result = short_soak(name, SIZES_V2[name], cold_start, aws, clients, request_schedule=list(AMBIGUOUS_FIRST))
    assert problems(result) == []
    assert result["lost"] == 0 and result["poison_on_bus"] == 0
    # no message twice on the bus, by message key and by DeduplicationId, whatever the cause
    assert result["duplicates"] == 0 and result["duplicates_by_deduplication_id"] == 0
    assert result["fifo_order_violations_on_bus"] == 0
    # the ambiguous faults did happen, and what they would have duplicated came back DEDUPLICATED
    assert all(result["faults_injected"].get(kind) for kind in AMBIGUOUS_FIRST)
    assert result["entries_deduplicated"] >= 1
    assert sum(result["faults_injected"].values()) > 0.15 * SIZES_V2[name]
    assert sum(result["parked"].values()) - sum(result["healthy_parked"].values()) == result["poison"] > 0


@pytest.mark.parametrize("name", list(SIZES_RAW))
def test_short_soak_in_raw_mode_loses_nothing_and_delivers_no_duplicate(name, cold_start, aws, clients):
    result = short_soak(name, SIZES_RAW[name], cold_start, aws, clients, request_schedule=list(AMBIGUOUS_FIRST))
    assert problems(result) == []
    assert result["lost"] == 0 and result["poison_on_bus"] == 0 and result["poison"] > 0
    assert result["duplicates"] == 0 and result["duplicates_by_deduplication_id"] == 0
    assert result["fifo_order_violations_on_bus"] == 0
    # every entry went through PutRawEvents, and the ambiguous faults' would-be duplicates came back DEDUPLICATED
    assert result["raw_entries_on_bus"] >= result["on_bus"] > 0 and result["put_events_entries_in_raw_mode"] == 0
    assert all(result["faults_injected"].get(kind) for kind in AMBIGUOUS_FIRST)
    assert result["entries_deduplicated"] >= 1
