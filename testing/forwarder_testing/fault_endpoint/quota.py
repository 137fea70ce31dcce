"""A PutEvents quota shared by every client of one endpoint: token buckets, answered as EventBridge answers.

EventBridge throttles PutEvents per account and region, whoever sends. Here the config keys
``quota_requests_per_second`` and ``quota_entries_per_second`` (0: no quota, the default) each fill a token
bucket that holds at most ``quota_burst_seconds`` of its rate (default 1 s) and starts full:

* a request that finds no request token is refused whole, ``400 ThrottlingException`` "Rate exceeded",
  before any fault or validation, and nothing of it is accepted;
* a request that gets through takes one entry token per entry; the entries left without one (the last of
  the request) are answered ``ThrottlingException`` in its results, the others go on as usual.

Both are counted in the stats' ``faults`` as ``quota:request`` and ``quota:entries``. The buckets run on real
time (``time.monotonic``) and are made anew when the config's quota keys change or the endpoint is reset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .validation import ENTRY_MESSAGES

if TYPE_CHECKING:
    from .config import FaultConfig
    from .state import FaultState

QUOTA_KEYS = frozenset({"quota_requests_per_second", "quota_entries_per_second", "quota_burst_seconds"})
THROTTLED_ENTRY = {"ErrorCode": "ThrottlingException", "ErrorMessage": ENTRY_MESSAGES["ThrottlingException"]}


class TokenBucket:
    """`rate` tokens a second, at most `capacity` held; starts full. `rate` 0 means no limit."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.capacity, self._clock = rate, max(1.0, capacity), clock
        self._tokens, self._at = self.capacity, clock()
        self._lock = threading.Lock()

    def take(self, count: int) -> int:
        """Take up to `count` whole tokens; returns how many were granted."""
        if not self.rate:
            return count
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
            self._at = now
            granted = min(count, int(self._tokens))
            self._tokens -= granted
            return granted


class Quota:
    """The request and entry buckets of one endpoint."""

    def __init__(self, config: FaultConfig):
        burst = config.quota_burst_seconds
        self.requests = TokenBucket(config.quota_requests_per_second, config.quota_requests_per_second * burst)
        self.entries = TokenBucket(config.quota_entries_per_second, config.quota_entries_per_second * burst)


def refuse_request(state: FaultState) -> bool:
    """True (and counted as a request and a quota refusal) when the request bucket is empty."""
    if state.quota.requests.take(1):
        return False
    with state.lock:
        state.requests += 1
        state.faults["quota:request"] += 1
    return True


def within_entry_quota(state: FaultState, entries: list[Any], process: Callable[[list[Any]], dict]) -> dict:
    """`process` the entries that get an entry token; the rest are answered ThrottlingException."""
    allowed = state.quota.entries.take(len(entries))
    response = process(entries[:allowed])
    throttled = len(entries) - allowed
    if throttled:
        with state.lock:
            state.faults["quota:entries"] += throttled
        response["Entries"].extend(dict(THROTTLED_ENTRY) for _ in range(throttled))
        response["FailedEntryCount"] += throttled
    return response
