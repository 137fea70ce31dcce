"""What the fault endpoint can be told: ``FaultConfig``, its keys and the fault kinds they name.

Config keys (probabilities are drawn from one RNG seeded with ``seed``):

    seed               int, reseeds the RNG when set
    latency_ms         base delay before every PutEvents answer (benchmarks: 0, 10, 25)
    request_faults     {kind: probability} drawn per PutEvents request
    request_schedule   [kind, ...] consumed one per PutEvents request before any probability; "ok" = none
    entry_faults       {ErrorCode: probability} drawn per entry that passed validation
    entry_schedule     [ErrorCode or null, ...] consumed one per such entry; null / "ok" = accept it
    detail_rules       [{"contains": str, "code": ErrorCode}] an entry whose Detail contains the substring
                       always fails with that code (lets a test target one record)
    slow_ms            how long "slow", "accepted_hang" hold the answer (make it exceed the read timeout)
    trickle_ms         "trickle": the pause before each byte of the answer (default 1000)
    max_body_bytes     HTTP body limit, over it -> 413 with an empty body (default 1 MiB)
    max_entries_bytes  sum of entry sizes (AWS formula) over it -> ValidationException (default 1 MiB)
    record_accepted    false keeps only counts (long benchmarks would otherwise hold every entry)
    dedup_window_seconds  eventbridgev2: how long an accepted DeduplicationId (or content hash) answers
                       DEDUPLICATED (default 300, as the service; tests shorten it)
    virtual_now        eventbridgev2: null (default) runs the dedup window on real time; a number is "now" on a
                       clock the caller moves (a simulation's virtual clock), in seconds
    answer_schedule    [{"status": int, "body": str} or null / "ok", ...] consumed one per PutEvents request before
                       request_rules and faults: answer with that status and raw body (UTF-8, any text: "[]",
                       "null", not JSON at all), nothing accepted; null / "ok" = go on as usual
    request_rules      [{"contains": str, "code": str, "status": int}] a PutEvents request with an entry whose
                       Detail contains the substring is refused whole (default 400 ValidationException), as the
                       service refuses a request for one bad entry; nothing accepted
    quota_requests_per_second, quota_entries_per_second, quota_burst_seconds
                       a PutEvents quota shared by all clients (classic API): see ``quota.py``; 0 = none

Request fault kinds:

    throttle        400 ThrottlingException, nothing accepted (retryable)
    http500         500 InternalException, nothing accepted (retryable)
    http503         503 ServiceUnavailable, nothing accepted (retryable)
    http429         429 with a code no SDK knows (a front end's rate limit), nothing accepted (retryable)
    reset           connection reset (RST) without an answer, nothing accepted
    slow            wait slow_ms, then process and answer normally: the entries ARE accepted
    accepted_hang   process and record the entries, then hold the answer slow_ms and close: the client
                    times out although the entries were accepted (the source of ambiguous duplicates)
    accepted_reset  process and record the entries, then reset the connection instead of answering
    trickle         process and record the entries, then write the answer (status line, headers, body) one
                    byte per trickle_ms and close: no single receive ever waits long, so a per-receive read
                    timeout never trips; stops when the client hangs up (both APIs)

On eventbridgev2, throttle answers 429 (its modeled ThrottlingException), and accepted_hang / accepted_reset
also put the entries in the dedup window, so the client's retry comes back DEDUPLICATED.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

REQUEST_FAULT_KINDS = frozenset(
    {"ok", "throttle", "http500", "http503", "http429", "reset", "slow", "accepted_hang", "accepted_reset",
     "trickle"}
)
# Faults after which entries are accepted although the client may never see the answer.
AMBIGUOUS_FAULT_KINDS = frozenset({"slow", "accepted_hang", "accepted_reset", "trickle"})


@dataclasses.dataclass
class FaultConfig:
    """Everything the endpoint can be told; see the module docstring for each key."""

    seed: int = 0
    latency_ms: float = 0.0
    request_faults: dict[str, float] = dataclasses.field(default_factory=dict)
    request_schedule: list[str] = dataclasses.field(default_factory=list)
    entry_faults: dict[str, float] = dataclasses.field(default_factory=dict)
    entry_schedule: list[str | None] = dataclasses.field(default_factory=list)
    detail_rules: list[dict[str, str]] = dataclasses.field(default_factory=list)
    slow_ms: float = 2000.0
    trickle_ms: float = 1000.0
    max_body_bytes: int = 1024 * 1024
    max_entries_bytes: int = 1024 * 1024
    record_accepted: bool = True
    dedup_window_seconds: float = 300.0  # eventbridgev2 only (see v2.py)
    virtual_now: float | None = None  # eventbridgev2's dedup window on a caller's clock (see v2.py)
    answer_schedule: list[dict[str, Any] | str | None] = dataclasses.field(default_factory=list)
    request_rules: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    quota_requests_per_second: float = 0.0  # quota.py
    quota_entries_per_second: float = 0.0
    quota_burst_seconds: float = 1.0

    def update(self, changes: dict[str, Any]) -> None:
        """Merge changes, rejecting unknown keys and unknown fault kinds before touching anything."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        candidate = dataclasses.replace(self, **changes)
        candidate.check()
        for key, value in changes.items():
            setattr(self, key, copy.deepcopy(value))  # schedules are consumed: never the caller's list

    def check(self) -> None:
        kinds = set(self.request_faults) | set(self.request_schedule)
        if kinds - REQUEST_FAULT_KINDS:
            raise ValueError(f"unknown request fault kinds: {sorted(kinds - REQUEST_FAULT_KINDS)}")
        for table in (self.request_faults, self.entry_faults):
            if sum(table.values()) > 1.0:
                raise ValueError("fault probabilities add up to more than 1")
        if any(not {"contains", "code"} <= set(rule) for rule in self.detail_rules):
            raise ValueError('each detail rule needs "contains" and "code"')
        if self.dedup_window_seconds < 0:
            raise ValueError("dedup_window_seconds must not be negative")
        if min(self.quota_requests_per_second, self.quota_entries_per_second, self.quota_burst_seconds) < 0:
            raise ValueError("quota rates and burst must not be negative")
        check_scripted(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_scripted(config: FaultConfig) -> None:
    """The shapes of answer_schedule and request_rules (they are read on every PutEvents request)."""
    for answer in config.answer_schedule:
        scripted = isinstance(answer, dict) and isinstance(answer.get("status"), int)
        if not (answer in (None, "ok") or (scripted and isinstance(answer.get("body", ""), str))):
            raise ValueError('each answer_schedule item is null, "ok" or {"status": int, "body": str}')
    if any(not isinstance(rule, dict) or not isinstance(rule.get("contains"), str) for rule in config.request_rules):
        raise ValueError('each request rule needs "contains"')
