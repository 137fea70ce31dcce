"""One scenario, end to end: its own fault endpoint process, the function instances, the simulated source.

SQS scenarios put an ``SqsPeer`` in front of moto: it answers the function's visibility calls for the
simulated queue and relays the quarantine's sends to moto. The endpoint's deduplication window follows
the source's virtual clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from forwarder_testing.endpoint_process import EndpointProcess
from forwarder_testing.simulation import InProcess, Workers, drive
from forwarder_testing.simulation.sqs_peer import SqsPeer
from tools.soak.accounting import account, quarantined_keys
from tools.soak.scenarios import Scenario, endpoint_config, handler_env, make_messages, make_source


def run_scenario(
    scenario: Scenario,
    count: int,
    instances: Callable[[dict[str, str]], InProcess | Workers],
    moto_url: str | None,
    latency_ms: float,
    seed: int = 7,
    shards: int = 1,
) -> dict[str, Any]:
    import boto3

    messages = make_messages(scenario, count, seed)
    peer = SqsPeer(moto_url) if scenario.source != "kinesis" else None
    with EndpointProcess(endpoint_config(seed), latency_ms) as endpoint:
        sqs = poison_url = None
        if scenario.quarantine:
            sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1",
                               aws_access_key_id="soak", aws_secret_access_key="soak")  # noqa: S106
            poison_url = sqs.create_queue(QueueName=f"{scenario.name}-poison")["QueueUrl"]
        sqs_url = peer.url if peer else moto_url
        env = handler_env(endpoint.url, sqs_url, poison_url, scenario.custom_bus, scenario.visibility_backoff,
                          scenario.raw_payload)
        source = make_source(scenario, messages, shards, peer)
        started = time.perf_counter()
        pool = instances(env)
        try:
            clock = (lambda now: endpoint.configure(virtual_now=now)) if scenario.custom_bus else None
            tally = drive(source, pool, clock=clock)
        finally:
            if peer:
                peer.close()
            close = getattr(pool, "close", None)
            if close:
                close()
        seconds = time.perf_counter() - started
        quarantine = quarantined_keys(sqs, poison_url) if sqs else []
        return account(scenario, messages, endpoint, tally, quarantine, seconds)
