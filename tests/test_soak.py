"""A short soak in the test suite: the full one is `make soak` (tools/soak.py).

The handler runs in this process (one warm execution environment) behind the simulated event
source, against the fault endpoint in a thread with the soak's fault mix; FIFO quarantines poison
records into a moto queue. Every message must be on the bus, parked or quarantined, and every
duplicate must trace back to an ambiguous fault or to the source delivering a record again.
"""

from __future__ import annotations

import time

import pytest

from tests.fakes.eventbridge_endpoint import FaultEndpoint
from tests.support.lambda_context import LambdaContext
from tools.simulation import InProcess, drive
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


@pytest.mark.parametrize("name", list(SIZES))
def test_short_soak_loses_nothing_and_explains_every_duplicate(name, load_handler, aws, clients):
    scenario = SCENARIOS[name]
    messages = make_messages(scenario, SIZES[name], seed=11)
    with FaultEndpoint(**endpoint_config(seed=11)) as endpoint:
        sqs = clients("sqs")
        poison_url = sqs.create_queue(QueueName="poison")["QueueUrl"] if scenario.quarantine else None
        handler = load_handler(**handler_env(endpoint.url, aws, poison_url))

        def invoke(event: dict) -> dict:
            return handler.lambda_handler(event, LambdaContext(timeout_ms=TIMEOUT_MS))

        started = time.monotonic()
        tally = drive(make_source(scenario, messages), InProcess(invoke))
        quarantine = quarantined_keys(sqs, poison_url) if poison_url else []
        result = account(scenario, messages, endpoint, tally, quarantine, time.monotonic() - started)
    assert problems(result) == []
    assert result["lost"] == 0 and result["duplicates_unexplained"] == 0
    assert sum(result["faults_injected"].values()) > 0.15 * SIZES[name]  # the faults did happen
    # every poison message is parked (DLQ, on-failure destination or quarantine), none is on the bus
    assert sum(result["parked"].values()) - sum(result["healthy_parked"].values()) == result["poison"] > 0
