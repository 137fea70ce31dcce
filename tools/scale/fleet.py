"""Fleets of 4 to 200 instances on one quota, on a virtual clock (forwarder_testing.simulation.fleet).

Every instance is a thread running the real `Publisher` with the function's defaults (adaptive limit,
`MAX_CONCURRENCY=16`, `MAX_ATTEMPTS=6`, 60 s timeout less the 1 s margin), fed SQS-sized batches back to
back, each one starting with what the last one reported (as SQS hands it out again). Only the service is
simulated: a quota of requests/s and entries/s, and answers `latency_ms` after the request (±10 %).
Each case is sized so that one request in flight (1000 / latency_ms requests/s) is `overshoot` times an
instance's fair share of the request quota.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from forwarder.core.items import Entry
from forwarder.publish.options import PublishOptions
from forwarder.publish.publisher import Publisher
from forwarder_testing.simulation.fleet import Actor, Quota, World

TIMEOUT_SECONDS, MARGIN_SECONDS = 60.0, 1.0
INVOKE_GAP_SECONDS = 0.02  # between one invocation's end and the next one's start (the poller, the runtime)
WINDOW = 2.0  # seconds per point of the time series the recovery is read from


@dataclass(frozen=True)
class Case:
    name: str
    instances: int
    latency_ms: float
    overshoot: float  # one request in flight / an instance's fair share of requests/s
    entries_per_request: float = 8.0  # the entry quota, in entries per request of the request quota
    seconds: float = 40.0
    warm_up: float = 10.0  # left out of the steady figures: the cold limits of the start
    batch_size: int = 100
    max_concurrency: int = 16
    max_attempts: int = 6
    changes: tuple[tuple[float, float], ...] = ()  # (at second, factor) applied to both quotas
    joining: int = 0  # of the instances, how many start cold at `joining_at` (Lambda scaling out), not at 0
    joining_at: float = 0.0
    mode: str = "adaptive"
    seed: int = 1

    @property
    def quota_rps(self) -> float:
        return self.instances * 1000 / self.latency_ms / self.overshoot

    @property
    def quota_eps(self) -> float:
        return self.quota_rps * self.entries_per_request

    def capacity(self, factor: float = 1.0) -> float:
        """Entries/s the quota lets through (a request carries at most 10)."""
        return min(self.quota_eps, self.quota_rps * 10) * factor


CASES = (
    Case("4 instances, 10 ms", 4, 10, 10),
    Case("50 instances, 10 ms", 50, 10, 20),
    Case("50 instances, 50 ms", 50, 50, 5),
    Case("200 instances, 10 ms", 200, 10, 20, seconds=30),
    Case("200 instances, 50 ms", 200, 50, 10, seconds=30),
    Case("200 instances, 50 ms, the request quota binding", 200, 50, 10, entries_per_request=12, seconds=30),
    Case("200 instances, 50 ms, 100 of them starting at 30 s", 200, 50, 10, seconds=60, joining=100,
         joining_at=30.0),
    Case("50 instances, 10 ms, quota halved at 30 s, doubled at 60 s", 50, 10, 10, seconds=90,
         changes=((30.0, 0.5), (60.0, 2.0))),
    Case("200 instances, 50 ms, quota halved at 30 s, doubled at 60 s", 200, 50, 5, seconds=90,
         changes=((30.0, 0.5), (60.0, 2.0))),
)


@dataclass
class Seen:
    sent: int = 0
    invocations: int = 0
    reported: int = 0
    exhausted: int = 0
    exhausted_at: list[float] = field(default_factory=list)  # when each invocation that reported some ended
    requests: int = 0
    left_reported: list[str] = field(default_factory=list)
    paced_at_end: bool = False


def run_case(case: Case) -> dict[str, Any]:
    world = World()
    quota = Quota(world, case.quota_rps, case.quota_eps)
    for at, factor in case.changes:
        world.at(at, lambda factor=factor: quota.scale(factor))
    seen = [Seen() for _ in range(case.instances)]
    starts = random.Random(case.seed)
    for number in range(case.instances):
        late = number >= case.instances - case.joining
        world.spawn(lambda actor, n=number: _instance(actor, case, quota, n, seen[n]),
                    start_at=(case.joining_at if late else 0.0) + starts.uniform(0, 0.1))
    world.run()
    return figures(case, quota, seen)


def _instance(actor: Actor, case: Case, quota: Quota, number: int, seen: Seen) -> None:
    rng = random.Random(case.seed * 100_003 + number)
    options = PublishOptions(max_request_bytes=1024 * 1024, max_concurrency=case.max_concurrency,
                             max_attempts=case.max_attempts, rng=random.Random(rng.random()),
                             concurrency_mode=case.mode)
    latency = case.latency_ms / 1000
    publisher = Publisher(quota.send, options, runtime=actor.runtime(lambda: latency * rng.uniform(0.9, 1.1)))
    reported: list[str] = []
    while actor.clock() < case.seconds:
        new = [f"i{number}-{seen.sent + n}" for n in range(case.batch_size - len(reported))]
        seen.sent += len(new)
        reported = _invoke(actor, publisher, case, seen, [*reported, *new])
        actor.sleep(INVOKE_GAP_SECONDS)
    for _ in range(50):  # the drain: what is still reported comes back until none is left
        if not reported:
            break
        reported = _invoke(actor, publisher, case, seen, reported)
        actor.sleep(INVOKE_GAP_SECONDS)
    seen.left_reported = reported
    seen.paced_at_end = publisher.limit.rate.pacing if hasattr(publisher.limit, "rate") else False


def _invoke(actor: Actor, publisher: Publisher, case: Case, seen: Seen, keys: list[str]) -> list[str]:
    items = [Entry({"Source": "scale", "DetailType": "record", "Detail": key}, 40 + len(key)) for key in keys]
    seen.invocations += 1
    publication = publisher.publish(items, actor.clock() + TIMEOUT_SECONDS - MARGIN_SECONDS)
    seen.requests += publication.requests
    failed = [index for index, outcome in enumerate(publication.outcomes) if not outcome.settled]
    seen.reported += len(failed)
    exhausted = sum(publication.outcomes[index].attempts >= case.max_attempts for index in failed)
    seen.exhausted += exhausted
    seen.exhausted_at += [actor.clock()] * exhausted
    return [keys[index] for index in failed]


def figures(case: Case, quota: Quota, seen: list[Seen]) -> dict[str, Any]:
    """The steady window's throughput and throttling, the accounting, and the series the recovery is read from."""
    steady = [row for row in quota.sent if case.warm_up <= row[0] < case.seconds and not _settling(case, row[0])]
    throttled = sum(1 for _, entries, accepted, _ in steady if accepted < entries)
    span = case.seconds - case.warm_up - (case.warm_up if case.joining else 0.0)
    sent = {f"i{number}-{n}" for number, one in enumerate(seen) for n in range(one.sent)}
    landed = set(quota.on_bus)
    still_reported = {key for one in seen for key in one.left_reported}
    result = {
        "case": asdict(case),
        "quota_rps": round(case.quota_rps, 1),
        "quota_eps": round(case.quota_eps, 1),
        "records": len(sent),
        "requests_per_second": round(len(steady) / span, 1),
        "throttled_share": round(throttled / max(1, len(steady)), 3),
        "goodput_entries_per_second": round(sum(row[2] for row in steady) / span, 1),
        "goodput_of_quota": None if case.changes else round(sum(row[2] for row in steady) / span
                                                             / case.capacity(), 3),
        "reported": sum(one.reported for one in seen),
        "exhausted": sum(one.exhausted for one in seen),
        "exhausted_after_warm_up": sum(at >= case.warm_up for one in seen for at in one.exhausted_at),
        "lost": len(sent - landed - still_reported),
        "still_reported": len(still_reported),
        "duplicates": sum(count - 1 for count in quota.on_bus.values()),
        "paced_at_end": sum(one.paced_at_end for one in seen),
        "invocations": sum(one.invocations for one in seen),
    }
    if case.changes:
        result.update(recovery(case, quota.sent))
    if case.joining:
        result.update(after_join(case, quota.sent))
    return result


def _settling(case: Case, at: float) -> bool:
    """Within the joining instances' warm-up: left out of the steady figures as the fleet's own first one is."""
    return bool(case.joining) and case.joining_at <= at < case.joining_at + case.warm_up


def after_join(case: Case, rows: list[tuple[float, int, int, int]]) -> dict[str, Any]:
    """The share throttled while the late instances warm up (left out of the steady figures), and the series."""
    points = series(rows, case.seconds)
    settling = [row for row in rows if _settling(case, row[0])]
    return {"series": [(start, round(share, 3), round(rate)) for start, share, rate in points],
            "throttled_share_while_joining": round(sum(1 for _, n, took, _ in settling if took < n)
                                                   / max(1, len(settling)), 3)}


def series(rows: list[tuple[float, int, int, int]], end: float) -> list[tuple[float, float, float]]:
    """Per WINDOW seconds: (start, share of requests throttled, entries accepted per second)."""
    requests: Counter[int] = Counter()
    throttled: Counter[int] = Counter()
    accepted: Counter[int] = Counter()
    for at, entries, took, _ in rows:
        slot = int(at // WINDOW)
        requests[slot] += 1
        throttled[slot] += took < entries
        accepted[slot] += took
    return [(slot * WINDOW, throttled[slot] / max(1, requests[slot]), accepted[slot] / WINDOW)
            for slot in range(int(end // WINDOW))]


def recovery(case: Case, rows: list[tuple[float, int, int, int]]) -> dict[str, Any]:
    """Seconds from each quota change until the fleet is back within target: after a cut, from then on every
    window under 10 % throttled; after a rise, the first window at 90 % of the new quota's entries/s."""
    points = series(rows, case.seconds)
    found: dict[str, Any] = {"series": [(start, round(share, 3), round(rate)) for start, share, rate in points]}
    factor = 1.0
    changes = list(case.changes)
    for index, (at, change) in enumerate(changes):
        factor *= change
        until = changes[index + 1][0] if index + 1 < len(changes) else case.seconds
        window = [point for point in points if at <= point[0] and point[0] + WINDOW <= until]
        if change < 1:
            late = [start for start, share, _ in window if share > 0.1]
            settled_at = late[-1] + WINDOW if late else at
            found["recovery_after_cut_seconds"] = round(settled_at - at, 1) if settled_at < until else None
        else:
            good = [start for start, _, rate in window if rate >= 0.9 * case.capacity(factor)]
            found["recovery_after_rise_seconds"] = round(good[0] + WINDOW - at, 1) if good else None
    return found
