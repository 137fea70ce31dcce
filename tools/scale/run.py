"""One policy's phase of the scale run, and the run of every policy against one endpoint.

A phase resets the endpoint (its quota's bucket full again, no stats), starts the instances, waits for
every cold start, then lets them stream for ``seconds``. Goodput and the share throttled are taken over
the last three quarters of that stream (the full bucket and the cold limits of its start left out), the
latencies over all of it; requests per record, exhausted records and the accounting (lost, duplicated) over
the whole phase, the drain included.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from forwarder_testing.endpoint_process import EndpointProcess
from tools.scale import instance
from tools.scale.instance import Seen
from tools.soak.scenarios import handler_env

MODES = ("fixed", "adaptive")
WARM_UP = 0.25  # of the stream, before goodput and the throttled share are counted


@dataclass(frozen=True)
class Plan:
    instances: int = 8
    seconds: float = 20.0  # of steady stream per phase
    batch_size: int = 500  # records per invocation (an SQS batch with a batching window)
    latency_ms: float = 100.0  # the endpoint's answer time, throttled answers included
    quota_rps: float = 200.0  # PutEvents requests per second for all instances together
    burst_seconds: float = 1.0  # the bucket holds this many seconds of the quota
    max_concurrency: int = 16
    max_attempts: int = 6
    rounds: int = 2  # phases per policy, alternating

    @property
    def unthrottled_rps(self) -> float:
        """What the instances would send with no quota: every one at MAX_CONCURRENCY, one answer apart."""
        return self.instances * self.max_concurrency * 1000 / self.latency_ms

    def endpoint_config(self) -> dict[str, Any]:
        return {"quota_requests_per_second": self.quota_rps, "quota_burst_seconds": self.burst_seconds}


def run(plan: Plan) -> dict[str, Any]:
    """Every policy, `plan.rounds` times each, alternating, against one endpoint process."""
    phases: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    with EndpointProcess(plan.endpoint_config(), plan.latency_ms) as endpoint:
        for _ in range(plan.rounds):
            for mode in MODES:
                phases[mode].append(run_phase(endpoint, plan, mode))
    return {"plan": asdict(plan), "unthrottled_rps": plan.unthrottled_rps, "phases": phases}


def run_phase(endpoint: EndpointProcess, plan: Plan, mode: str) -> dict[str, Any]:
    endpoint.reset()
    # No visibility backoff: the run hands reported records back in the next batch itself, and there is no
    # SQS here (its calls would go to a closed port and add their retries to the reporting policy's latency).
    env = {**handler_env(endpoint.url, visibility_backoff=False), "CONCURRENCY_MODE": mode,
           "MAX_CONCURRENCY": str(plan.max_concurrency), "MAX_ATTEMPTS": str(plan.max_attempts)}
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for number in range(plan.instances):
        parent, child = context.Pipe()
        process = context.Process(target=instance.main, args=(env, number, plan.batch_size, child), daemon=True)
        process.start()
        pipes.append(parent)
        processes.append(process)
    try:
        return _stream(endpoint, plan, pipes)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()


def _stream(endpoint: EndpointProcess, plan: Plan, pipes: list[Any]) -> dict[str, Any]:
    for pipe in pipes:
        if pipe.recv() != "ready":
            raise RuntimeError("an instance did not start")
    for pipe in pipes:
        pipe.send(plan.seconds)
    # The bucket starts full, and every instance cold at MAX_CONCURRENCY: the first quarter is left out.
    time.sleep(plan.seconds * WARM_UP)
    before, started = endpoint.stats(), time.perf_counter()
    time.sleep(plan.seconds * (1 - WARM_UP))
    during, seconds = endpoint.stats(), time.perf_counter() - started
    seen: list[Seen] = [pipe.recv() for pipe in pipes]
    after = endpoint.stats()
    on_bus = Counter(entry["Detail"] for entry in endpoint.accepted())
    return figures(plan, seen, _delta(before, during), after, on_bus, seconds)


def _delta(before: dict[str, Any], later: dict[str, Any]) -> dict[str, int]:
    def throttled(stats: dict[str, Any]) -> int:
        return stats["faults"].get("quota:request", 0)

    return {"requests": later["requests"] - before["requests"], "throttled": throttled(later) - throttled(before),
            "accepted": later["entries_accepted"] - before["entries_accepted"]}


def figures(plan: Plan, seen: list[Seen], stream: dict[str, int], after: dict[str, Any], on_bus: Counter,
            seconds: float) -> dict[str, Any]:
    """One phase's figures (see the package docstring)."""
    import json

    landed = Counter(json.loads(detail)["key"] for detail in on_bus.elements())
    sent = {f"i{number}-{n}" for number, one in enumerate(seen) for n in range(one.sent)}
    still_reported = {key for one in seen for key in one.left_reported}
    latencies = sorted(latency for one in seen for latency in one.latencies)
    goodput = stream["accepted"] / seconds
    return {
        "records": len(sent),
        "goodput_entries_per_second": round(goodput, 1),
        "goodput_of_quota": round(goodput / (plan.quota_rps * 10), 3),  # a full request holds 10 entries
        "requests_per_second": round(stream["requests"] / seconds, 1),
        "throttled_share": round(stream["throttled"] / max(1, stream["requests"]), 3),
        "reported": sum(one.reported for one in seen),
        "exhausted": sum(one.exhausted for one in seen),
        "batch_latency_p50_seconds": round(statistics.median(latencies), 3) if latencies else None,
        "batch_latency_p99_seconds": round(latencies[int(0.99 * (len(latencies) - 1))], 3) if latencies else None,
        "requests_per_record": round(after["requests"] / max(1, len(landed)), 3),
        "lost": len(sent - set(landed) - still_reported),
        "still_reported": len(still_reported),
        "duplicates": sum(count - 1 for count in landed.values()),
        "unknown_on_bus": len(set(landed) - sent),
        "invocations": sum(one.invocations for one in seen),
        "final_limits": [one.final_limit for one in seen],
    }
