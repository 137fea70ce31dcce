"""The soak's scenarios, its messages and its fault mix, and the environment the handler runs in.

Each source (standard SQS; FIFO SQS with a POISON_QUEUE_URL quarantine; Kinesis with an on-failure
destination) runs three times: onto the classic bus, onto a Custom Event Bus (``-v2``), and onto that bus in
raw mode, through PutRawEvents (``-raw``, EVENT_PAYLOAD=raw); standard SQS runs once more onto the Custom
Event Bus with the visibility backoff off (``standard-v2-off``), to compare.
The seeds are fixed, so a scenario's messages are the same on every run.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass
from typing import Any

from forwarder_testing.simulation import KinesisSource, Message, SqsSource
from forwarder_testing.simulation.sqs_peer import SqsPeer

POISON = "x-poison-x"  # a poison message carries this; the endpoint answers MalformedDetail for it
TRACE = "Root=1-6740a1b2-{:024x};Parent=53995c3f42cd8ad8;Sampled=1"
# About 20 % of entries fail: mostly retryable, a little final (codes that speak of the setup, so
# they are redelivered, not quarantined).
ENTRY_FAULTS = {
    "InternalFailure": 0.10,
    "ThrottlingException": 0.09,
    "AccessDeniedException": 0.005,
    "InvalidAccountIdException": 0.005,
}
# 5 % request faults, 2 % resets, 1 % ambiguous (entries accepted, answer lost), 0.5 % slow answers
# (SLOW_MS, under the read timeout: answered late, entries accepted; listed as ambiguous all the same).
REQUEST_FAULTS = {
    "http500": 0.02,
    "http503": 0.02,
    "throttle": 0.01,
    "reset": 0.02,
    "accepted_reset": 0.005,
    "accepted_hang": 0.005,
    "slow": 0.005,
}
DETAIL_RULES = [{"contains": POISON, "code": "MalformedDetail"}]
SLOW_MS = 300  # accepted_hang: the answer never comes; the connection closes after this long
TIMEOUT_MS = 60_000  # the function's timeout (the template's default); the queue's visibility timeout is 6 x this
CUSTOM_BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
# AWS's window. The endpoint runs it on the event sources' virtual clock (``virtual_now``, moved before every
# invocation), so a redelivery after a visibility timeout or a visibility backoff counts as long as it would.
DEDUP_WINDOW_SECONDS = 300

@dataclass(frozen=True)
class Scenario:
    name: str
    source: str  # "sqs", "fifo" or "kinesis"
    batch_size: int
    poison_rate: float
    quarantine: bool = False
    groups: int = 0  # FIFO message groups
    custom_bus: bool = False  # publish to CUSTOM_BUS through eventbridgev2
    visibility_backoff: bool = True  # SQS: the function sets the visibility of the records it reports
    raw_payload: bool = False  # EVENT_PAYLOAD=raw: PutRawEvents onto CUSTOM_BUS


CLASSIC = {
    "standard": Scenario("standard", "sqs", batch_size=500, poison_rate=0.002),
    "fifo": Scenario("fifo", "fifo", batch_size=10, poison_rate=0.002, quarantine=True, groups=400),
    "kinesis": Scenario("kinesis", "kinesis", batch_size=100, poison_rate=0.0005),
}
# The same sources, messages and faults onto a Custom Event Bus; and, to compare, standard SQS onto it with
# the visibility backoff off (reported records wait out the queue's 6 minutes, past the 5-minute window).
SCENARIOS = {
    **CLASSIC,
    **{f"{name}-v2": dataclasses.replace(s, name=f"{name}-v2", custom_bus=True) for name, s in CLASSIC.items()},
}
SCENARIOS.update({f"{name}-raw": dataclasses.replace(s, name=f"{name}-raw", custom_bus=True, raw_payload=True)
                  for name, s in CLASSIC.items()})
SCENARIOS["standard-v2-off"] = dataclasses.replace(SCENARIOS["standard-v2"], name="standard-v2-off",
                                                   visibility_backoff=False)


def make_messages(scenario: Scenario, count: int, seed: int = 7) -> list[Message]:
    rng = random.Random(seed)
    messages = []
    for index in range(count):
        key = f"{scenario.name[0]}{index:07d}"
        group = f"g{rng.randrange(scenario.groups)}" if scenario.groups else None
        body: dict[str, Any] = {"id": key, "seq": index, "group": group, "amount": rng.randint(1, 10**6)}
        if rng.random() < scenario.poison_rate:
            body["marker"] = POISON
        trace = TRACE.format(index) if scenario.source != "kinesis" and index % 10 == 0 else None
        messages.append(Message(key, json.dumps(body), group, trace))
    return messages


def is_poison(message: Message) -> bool:
    return POISON in message.body


def endpoint_config(seed: int = 7) -> dict[str, Any]:
    """The fault mix, and the deduplication window on the virtual clock (which starts at 0)."""
    return {
        "seed": seed,
        "entry_faults": ENTRY_FAULTS,
        "request_faults": REQUEST_FAULTS,
        "detail_rules": DETAIL_RULES,
        "slow_ms": SLOW_MS,
        "dedup_window_seconds": DEDUP_WINDOW_SECONDS,
        "virtual_now": 0.0,
    }


def handler_env(
    endpoint_url: str,
    sqs_url: str | None = None,
    poison_queue_url: str | None = None,
    custom_bus: bool = False,
    visibility_backoff: bool = True,
    raw_payload: bool = False,
) -> dict[str, str]:
    """`sqs_url`: the SQS endpoint (the simulation's SqsPeer in front of moto, or moto)."""
    env = {
        "AWS_ACCESS_KEY_ID": "soak",
        "AWS_SECRET_ACCESS_KEY": "soak",  # noqa: S105 - local fakes take any credentials
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # any other service: a closed port, never AWS
        "AWS_ENDPOINT_URL_EVENTBRIDGE": endpoint_url,
        "EVENT_SOURCE": "soak.forwarder",
        "EVENT_DETAIL_TYPE": "SoakEvent",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    if custom_bus:
        env["EVENT_BUS_NAME"] = CUSTOM_BUS
        env["AWS_ENDPOINT_URL_EVENTBRIDGEV2"] = endpoint_url
    if raw_payload:
        env["EVENT_PAYLOAD"] = "raw"
    if sqs_url:
        env["AWS_ENDPOINT_URL_SQS"] = sqs_url
    if poison_queue_url:
        env["POISON_QUEUE_URL"] = poison_queue_url
    env["VISIBILITY_BACKOFF_MAX_SECONDS"] = "240" if visibility_backoff else "off"  # 240: the default
    return env


def make_source(
    scenario: Scenario, messages: list[Message], shards: int = 1, peer: SqsPeer | None = None
) -> SqsSource | KinesisSource:
    if scenario.source == "kinesis":
        return KinesisSource(messages, shards=shards, batch_size=scenario.batch_size, max_retry_attempts=3)
    return SqsSource(
        messages,
        fifo=scenario.source == "fifo",
        batch_size=scenario.batch_size,
        visibility_timeout=6 * TIMEOUT_MS / 1000,
        max_receive_count=5,
        queue="soak-source",
        peer=peer,
    )
