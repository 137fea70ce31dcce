"""`make soak`: the forwarder under faults and load, through the simulated event sources.

For each scenario (standard SQS; FIFO SQS with a POISON_QUEUE_URL quarantine; Kinesis with an
on-failure destination) it sends N messages through `forwarder_testing.simulation`, with the fault-injecting
PutEvents endpoint as the bus, then accounts for every message and every duplicate. Each source runs
twice: onto the classic bus (PutEvents), and onto a Custom Event Bus (`-v2`: EVENT_BUS_NAME is a
Custom Event Bus ARN, so the forwarder publishes through eventbridgev2 with deduplication ids), where
every redelivery must come back DEDUPLICATED and the bus must hold each message once:

    .venv/bin/python -m tools.soak --messages 100000 [--scenarios standard,fifo,kinesis,standard-v2,...]

The endpoint runs as its own process (one per scenario, so its stats are the scenario's): the handler's
threads and the endpoint's then do not share one GIL, which roughly halves the run on two cores. moto
server (also its own process) holds the quarantine queue. Each function instance is its own process
too (`simulation.Workers`), as Lambda's execution environments are.

It prints a table and writes the figures to soak-results.json and, as Markdown, docs/soak-results.md;
the exit code is 1 when a message was lost, a duplicate has no cause (on a Custom Event Bus: any
duplicate at all), a healthy message reached a dead-letter place it should not have (FIFO with
quarantine), a poison message reached the bus, or a FIFO group's order broke.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forwarder_testing.endpoint_process import EndpointProcess
from forwarder_testing.local_aws import moto_server
from forwarder_testing.simulation import (
    InProcess,
    KinesisSource,
    Message,
    SqsSource,
    Tally,
    Workers,
    drive,
    message_key,
    reconcile,
)

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
TIMEOUT_MS = 30_000  # the function's timeout; the queue's visibility timeout is 6 x this (virtual)
CUSTOM_BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
# The endpoint's deduplication window counts real seconds, while the event sources' clock is virtual
# (one tick per invocation; a visibility timeout is 180 virtual seconds but passes in a moment). A
# redelivery in the soak therefore comes at most one scenario's run time (a few real minutes) after the
# first acceptance; a day covers every one of them, so what the soak checks is the forwarder's side:
# the same DeduplicationId on every redelivery, and DEDUPLICATED taken as a success. (AWS's window is
# 5 minutes; see docs/reliability.md for the redeliveries that may come later than that.)
DEDUP_WINDOW_SECONDS = 86_400


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str  # "sqs", "fifo" or "kinesis"
    batch_size: int
    poison_rate: float
    quarantine: bool = False
    groups: int = 0  # FIFO message groups
    custom_bus: bool = False  # publish to CUSTOM_BUS through eventbridgev2


CLASSIC = {
    "standard": Scenario("standard", "sqs", batch_size=500, poison_rate=0.002),
    "fifo": Scenario("fifo", "fifo", batch_size=10, poison_rate=0.002, quarantine=True, groups=400),
    "kinesis": Scenario("kinesis", "kinesis", batch_size=100, poison_rate=0.0005),
}
# The same sources, messages and faults onto a Custom Event Bus.
SCENARIOS = {
    **CLASSIC,
    **{f"{name}-v2": dataclasses.replace(s, name=f"{name}-v2", custom_bus=True) for name, s in CLASSIC.items()},
}


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
    return {
        "seed": seed,
        "entry_faults": ENTRY_FAULTS,
        "request_faults": REQUEST_FAULTS,
        "detail_rules": DETAIL_RULES,
        "slow_ms": SLOW_MS,
        "dedup_window_seconds": DEDUP_WINDOW_SECONDS,
    }


def handler_env(
    endpoint_url: str,
    sqs_url: str | None = None,
    poison_queue_url: str | None = None,
    custom_bus: bool = False,
) -> dict[str, str]:
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
    if sqs_url:
        env["AWS_ENDPOINT_URL_SQS"] = sqs_url
    if poison_queue_url:
        env["POISON_QUEUE_URL"] = poison_queue_url
    return env


def make_source(scenario: Scenario, messages: list[Message], shards: int = 1) -> SqsSource | KinesisSource:
    if scenario.source == "kinesis":
        return KinesisSource(messages, shards=shards, batch_size=scenario.batch_size, max_retry_attempts=3)
    return SqsSource(
        messages,
        fifo=scenario.source == "fifo",
        batch_size=scenario.batch_size,
        visibility_timeout=6 * TIMEOUT_MS / 1000,
        max_receive_count=5,
        queue="soak-source",
    )


def quarantined_keys(sqs: Any, queue_url: str) -> list[str]:
    """Drain the quarantine queue; each body holds the Lambda record as received."""
    keys = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return keys
        for message in messages:
            record = json.loads(message["Body"])["record"]
            keys.append(message_key(record.get("body") or ""))
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def account(
    scenario: Scenario,
    messages: list[Message],
    bus: Any,
    tally: Tally,
    quarantine: list[str],
    seconds: float,
) -> dict[str, Any]:
    """`bus` is a FaultEndpoint or an EndpointProcess: accepted(), accepted_v2(), ambiguous(), stats().

    On a Custom Event Bus the bus is what eventbridgev2 accepted; duplicates are counted by message
    key (as on the classic bus) and by DeduplicationId, and the entries answered DEDUPLICATED are what
    would have been duplicates without the bus's deduplication.
    """
    accepted = bus.accepted()
    on_bus = bus.accepted_v2() if scenario.custom_bus else accepted
    result = reconcile(messages, on_bus, bus.ambiguous(), tally, quarantine, is_poison)
    stats = bus.stats()
    v2 = stats.get("eventbridgev2", {})
    custom: dict[str, Any] = {}
    if scenario.custom_bus:
        ids = Counter((entry.get("SystemMetadata") or {}).get("DeduplicationId") for entry in on_bus)
        custom = {
            "duplicates_by_deduplication_id": sum(count - 1 for count in ids.values()),
            "entries_without_deduplication_id": ids.get(None, 0),
            "classic_entries_on_bus": len(accepted) - len(on_bus),
            "entries_deduplicated": v2.get("entries_deduplicated", 0),
        }
    return {
        "scenario": scenario.name,
        "source": scenario.source,
        "quarantine": scenario.quarantine,
        "bus": "custom" if scenario.custom_bus else "classic",
        **result,
        **custom,
        "faults_injected": dict(sorted(stats["faults"].items())),
        "rejections": dict(sorted(stats["rejections"].items())),
        "put_events_requests": stats["requests"],
        "entries_received": stats["entries_received"],
        "seconds": round(seconds, 1),
    }


def problems(result: dict[str, Any]) -> list[str]:
    found = []
    for key in ("lost", "duplicates_unexplained", "poison_on_bus", "unknown_on_bus", "fifo_order_violations_on_bus",
                "fifo_order_violations_in_responses"):
        if result[key]:
            found.append(f"{key}={result[key]}")
    if result["source"] == "fifo" and result["healthy_parked"].get("dlq"):
        found.append(f"healthy messages in the DLQ={result['healthy_parked']['dlq']}")
    if result.get("bus") == "custom":  # deduplicated by the bus: no duplicate at all, whatever its cause
        for key in ("duplicates", "duplicates_by_deduplication_id", "entries_without_deduplication_id",
                    "classic_entries_on_bus"):
            if result[key]:
                found.append(f"{key}={result[key]}")
    return found


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


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        ("messages", lambda r: r["messages"]),
        ("poison messages", lambda r: r["poison"]),
        ("on the bus", lambda r: r["on_bus"]),
        ("parked (DLQ / on-failure / quarantine)", lambda r: " / ".join(str(r["parked"].get(p, "-"))
                                                                        for p in ("dlq", "on_failure", "quarantine"))),
        ("healthy among parked", lambda r: sum(r["healthy_parked"].values())),
        ("LOST", lambda r: r["lost"]),
        ("duplicates on the bus", lambda r: r["duplicates"]),
        ("  from an ambiguous fault", lambda r: r["duplicates_ambiguous"]),
        ("  from the source redelivering", lambda r: r["duplicates_source_redelivery"]),
        ("  UNEXPLAINED", lambda r: r["duplicates_unexplained"]),
        ("duplicates by DeduplicationId", lambda r: r.get("duplicates_by_deduplication_id", "-")),
        ("answered DEDUPLICATED", lambda r: r.get("entries_deduplicated", "-")),
        ("FIFO order violations", lambda r: r["fifo_order_violations_on_bus"]),
        ("invocations", lambda r: r["invocations"]),
        ("PutEvents requests", lambda r: r["put_events_requests"]),
        ("seconds", lambda r: r["seconds"]),
    ]
    kinds = sorted({kind for r in results for kind in r["faults_injected"]})
    rows += [(f"fault {kind}", lambda r, k=kind: r["faults_injected"].get(k, 0)) for kind in kinds]
    width = max(len(label) for label, _ in rows)
    lines = [f"{'':{width}}  " + "".join(f"{r['scenario']:>14}" for r in results)]
    for label, value in rows:
        lines.append(f"{label:{width}}  " + "".join(f"{value(r)!s:>14}" for r in results))
    return "\n".join(lines)


def write_report(summary: dict[str, Any], path: str) -> None:
    """The figures as docs/soak-results.md, the page docs/reliability.md links (as make bench writes BENCHMARKS.md)."""
    from tools.soak_report import markdown

    if path:
        Path(path).write_text(markdown(summary))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="per scenario")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("--workers", type=int, default=12,
                        help="function instances (processes) per scenario; Kinesis gets as many shards")
    parser.add_argument("--latency-ms", type=float, default=1.0, help="the endpoint's answer latency")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--parallel", type=int, default=2,
                        help="scenarios run at the same time (each has its own endpoint and function processes)")
    parser.add_argument("--out", default="soak-results.json")
    parser.add_argument("--report", default="docs/soak-results.md", help="the figures as Markdown; '' for none")
    parser.add_argument("--no-quarantine", action="store_true", help="FIFO without POISON_QUEUE_URL, for comparison")
    parser.add_argument("--poison-rate", type=float, help="share of poison messages, instead of each scenario's")
    args = parser.parse_args(argv)

    names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    scenarios = {name: SCENARIOS[name] for name in names}
    for name, scenario in scenarios.items():
        if args.no_quarantine:
            scenario = dataclasses.replace(scenario, quarantine=False)
        if args.poison_rate is not None:
            scenario = dataclasses.replace(scenario, poison_rate=args.poison_rate)
        scenarios[name] = scenario
    started = time.perf_counter()
    with moto_server() as moto_url:

        def run(name: str) -> dict[str, Any]:
            result = run_scenario(scenarios[name], args.messages, lambda env: Workers(args.workers, env, TIMEOUT_MS),
                                  moto_url, args.latency_ms, args.seed, shards=args.workers)
            print(f"{name}: {result['messages']} messages in {result['seconds']} s, lost {result['lost']}", flush=True)
            return result

        # Each scenario has its own endpoint process and function processes; the driving thread is light.
        with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
            results = list(pool.map(run, names))
    summary = {
        "command": "make soak",
        "messages_per_scenario": args.messages,
        "workers": args.workers,
        "parallel": args.parallel,
        "endpoint_latency_ms": args.latency_ms,
        "entry_faults": ENTRY_FAULTS,
        "request_faults": REQUEST_FAULTS,
        "dedup_window_seconds": DEDUP_WINDOW_SECONDS,
        "total_seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    write_report(summary, args.report)
    print()
    print(table(results))
    print(f"\ntotal {summary['total_seconds']} s; figures written to {args.out}")
    failures = [f"{r['scenario']}: {p}" for r in results for p in problems(r)]
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
