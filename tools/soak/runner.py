"""One scenario, end to end: its own fault endpoint process, the function instances, the simulated source."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from forwarder_testing.endpoint_process import EndpointProcess
from forwarder_testing.simulation import InProcess, Workers, drive
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
    with EndpointProcess(endpoint_config(seed), latency_ms) as endpoint:
        sqs = poison_url = None
        if scenario.quarantine:
            sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1",
                               aws_access_key_id="soak", aws_secret_access_key="soak")  # noqa: S106
            poison_url = sqs.create_queue(QueueName=f"{scenario.name}-poison")["QueueUrl"]
        env = handler_env(endpoint.url, moto_url, poison_url, scenario.custom_bus)
        source = make_source(scenario, messages, shards)
        started = time.perf_counter()
        pool = instances(env)
        try:
            tally = drive(source, pool)
        finally:
            close = getattr(pool, "close", None)
            if close:
                close()
        seconds = time.perf_counter() - started
        quarantine = quarantined_keys(sqs, poison_url) if sqs else []
        return account(scenario, messages, endpoint, tally, quarantine, seconds)
