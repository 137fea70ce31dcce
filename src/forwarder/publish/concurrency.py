"""How many PutEvents requests one instance keeps in flight: fixed, or adaptive (AIMD) on throttling.

EventBridge's PutEvents quota is shared by every instance of the function (and every other producer in the
account and region), and no instance knows how many others there are. So each one learns from its own
answers, as TCP's congestion control and botocore's `adaptive` retry mode do: the limit is halved when
entries are answered `ThrottlingException`, and quartered when a request is refused whole with a throttling
code or HTTP 429 (the quota is spent, not just short: when a fleet starts at once, halving burnt four
attempts of the first batch's entries on the way down from 16, and `make scale`'s 200 instances exhausted
some), and grows by one request per four limits' worth of clean answers, never above
`MAX_CONCURRENCY` and never below one. That is a quarter of TCP's pace: every instance's growth adds to
the overshoot of the shared quota, and at TCP's pace eight instances had a fifth of their requests
throttled in `make scale`, at this pace under a tenth, with the same goodput. It is cut at most once per
round trip: answers to requests sent before the last cut speak of the old limit, so a burst of them does
not cut it again and again.

Below one request in flight the limit paces (pacing.py): throttling that goes on at a limit of one turns on
a send rate, cut on throttling and grown back on clean answers, and `pace` says when the next request may
go. Two rules keep pacing to the throttling it can mend (both found by the soak and its fake-clock tests):
- Pacing starts only when, at one in flight, at least `PACING_SHARE` of the requests answered lately (about
  the last `SHARE_HORIZON`) were throttled heavily: refused whole, or half their entries (at least
  `HEAVY_ENTRIES`) throttled. A quota throttles that way: when its bucket is empty a request loses all or most of its
  entries. Throttling that no rate changes (the soak's 9 % of entries and 1 % of requests, at random)
  throttles entries one here and one there, and at one in flight each throttled answer cut the rate again:
  it fell to the floor, a 60 s invocation sent ~6 requests, and the soak never ended. Gating on the share
  of throttled *entries* could not tell the two apart: an instance that never paced, among a fleet that
  does, sees the fleet's ~10 % (`make scale`: three such instances at one in flight kept a halved quota
  over 10 % throttled for 26 s), and the random mix is ~10 % too; and a small retry whose one entry is
  throttled reads as 100 %, which heaviness counted in entries ignores.
- While pacing, as for the window, an answer to a request sent before the last cut does not cut again. A
  cold instance's 16 requests in flight, throttled together, each cut the fresh rate by 0.7 one after the
  other, and a lone instance near its quota kept a tenth of its throughput.

One limit, its rate with it, lives as long as its `Publisher`, so a warm instance starts each invocation
where the last one left off. `FixedLimit` is the policy without learning (`CONCURRENCY_MODE=fixed`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from botocore.exceptions import ClientError
from botocore.retries.standard import ThrottledRetryableChecker

from forwarder.publish import answers
from forwarder.publish.pacing import SendRate

THROTTLED_STATUS = 429
# botocore's own list of throttling codes (its standard and adaptive retry modes read the same one), which
# includes ThrottlingException, the code a PutEvents entry carries. Taken from botocore, not copied, so
# that the two cannot drift apart; botocore.retries.standard is imported by every client in any case.
THROTTLING_CODES = frozenset(ThrottledRetryableChecker._THROTTLED_ERROR_CODES)
THROTTLED, CLEAN = "throttled", "clean"
# Pacing starts only when, at one request in flight, this share of the last SHARE_HORIZON or so requests
# answered were throttled heavily: refused whole, or half their entries (and at least HEAVY_ENTRIES) throttled.
# Random throttling of 9 % of entries and 1 % of requests makes ~1 % heavy; a quota's ~100 %. Half of the
# request, not a fixed count: a Custom Event Bus's request holds up to 100 entries, and 9 % of 100 at random
# would pass any bar a classic request of 10 sets.
PACING_SHARE = 0.05
SHARE_HORIZON = 200
HEAVY_ENTRIES = 5
HEAVY_FRACTION = 0.5


def verdict(future: Future) -> str | None:
    """What a finished request says of the quota: THROTTLED, CLEAN (answered, no throttling), or None
    (it failed otherwise, or was never sent: it says nothing of the quota)."""
    if future.cancelled():
        return None
    error = future.exception()
    if isinstance(error, ClientError):
        code, status, _ = answers.error_fields(error)
        return THROTTLED if status == THROTTLED_STATUS or code in THROTTLING_CODES else None
    if error is not None:
        return None
    return _verdict_of_answer(future.result())


def throttled_entries(future: Future, entries: int) -> int:
    """How many of a finished request's `entries` were throttled: all of them when it was refused whole."""
    if future.cancelled():
        return 0
    if future.exception() is not None:
        return entries if verdict(future) == THROTTLED else 0
    response = future.result()
    answered = response.get("Entries") if isinstance(response, dict) else None
    if not isinstance(answered, list):
        return 0
    return min(entries, sum(1 for entry in answered if isinstance(entry, dict)
                            and isinstance(entry.get("ErrorCode"), str) and entry["ErrorCode"] in THROTTLING_CODES))


def _verdict_of_answer(response: object) -> str | None:
    entries = response.get("Entries") if isinstance(response, dict) else None
    if not isinstance(entries, list):
        return None  # not PutEvents' answer (or NOT_SENT): nothing learnt
    # Any JSON may stand in an ErrorCode: only a string can be a throttling code (a list is not even hashable).
    for entry in entries:  # a loop, not generators: once per answer, for each of its entries
        if type(entry) is dict and "ErrorCode" not in entry:
            continue  # the usual entry, confirmed: passed over without a lookup
        if isinstance(entry, dict):
            code = entry.get("ErrorCode")
            if isinstance(code, str) and code in THROTTLING_CODES:
                return THROTTLED
    return CLEAN


class FixedLimit:
    """Always `ceiling` requests in flight, whatever the answers."""

    def __init__(self, ceiling: int):
        self.ceiling = ceiling

    @property
    def limit(self) -> int:
        return self.ceiling

    @property
    def round(self) -> int:
        return 0

    def observe(self, future: Future, sent_in_round: int, round_trip: float | None = None,
                entries: int = 0) -> str | None:
        """Nothing to learn; the verdict is still counted (the PutEventsThrottled metric)."""
        return verdict(future)

    def pace(self) -> float:
        """Never paced: a request may always go as soon as it has a slot."""
        return 0.0


class AdaptiveLimit:
    """AIMD: times `decrease` on throttling (once per round trip), +`increase` per limit's worth of clean answers."""

    def __init__(self, ceiling: int, decrease: float = 0.5, increase: float = 0.25,
                 clock: Callable[[], float] = time.monotonic):
        """`clock` is the runtime's: the send rate below one in flight runs on it."""
        self.ceiling = ceiling
        self._decrease, self._increase = decrease, increase
        self._window = float(ceiling)  # a cold instance starts as the fixed policy does
        self._round = 0  # bumped by every cut: the round a request was sent in tells if it saw the cut
        self._lock = threading.Lock()  # a library caller may share one Publisher between threads
        self.rate = SendRate(clock)
        self._heavy_share = 0.0  # of the requests answered lately (SHARE_HORIZON), those heavily throttled

    def _count_answer(self, entries: int, throttled: int, refused: bool) -> None:
        kept = 1 - 1 / SHARE_HORIZON
        heavy = refused or throttled >= max(HEAVY_ENTRIES, entries * HEAVY_FRACTION)
        with self._lock:
            self._heavy_share += (1 - kept) * (heavy - self._heavy_share)

    @property
    def heavy_share(self) -> float:
        """Of the requests answered lately, the share heavily throttled. The average starts at 0 and is not
        corrected for it: a few early answers are no evidence (one random refusal among the first ten read as
        10 % and paced the short soak's Kinesis instance to its floor), while a cold instance's 16 requests in
        flight, all heavily throttled, are (they take it to 7.7 %)."""
        return self._heavy_share

    @property
    def limit(self) -> int:
        return max(1, min(self.ceiling, int(self._window)))

    @property
    def round(self) -> int:
        return self._round

    def observe(self, future: Future, sent_in_round: int, round_trip: float | None = None,
                entries: int = 0) -> str | None:
        """Learn from a finished request of `entries` entries sent when `round` was `sent_in_round`, answered
        in `round_trip` s; return its verdict."""
        found = verdict(future)
        if found is not None:
            self.rate.answered(round_trip)
            refused = found == THROTTLED and future.exception() is not None
            self._count_answer(entries, throttled_entries(future, entries) if found == THROTTLED else 0, refused)
        if found == THROTTLED:
            self.throttled(sent_in_round, refused=future.exception() is not None)
        elif found == CLEAN:
            self.clean()
        return found

    def throttled(self, sent_in_round: int, refused: bool = False) -> None:
        """A throttled answer to a request sent in `sent_in_round`; `refused`: the request was refused whole."""
        with self._lock:
            if sent_in_round < self._round:
                return  # sent before the last cut (of the window or the rate): already answered for
            if self.rate.pacing or (self._window <= 1.0 and self.heavy_share >= PACING_SHARE):
                self.rate.throttled(refused)  # throttled at one in flight, sending well past what gets through
            self._window = max(1.0, self._window * self._decrease * (self._decrease if refused else 1.0))
            self._round += 1

    def clean(self) -> None:
        with self._lock:
            if self.rate.pacing:
                self.rate.clean()  # the window stays at one until the rate has grown past it
                return
            self._window = min(float(self.ceiling), self._window + self._increase / self._window)

    def pace(self) -> float:
        """0.0 when the next request may go now (a token taken while pacing), else the seconds until it may."""
        return self.rate.take()


InFlightLimit = FixedLimit | AdaptiveLimit
MODES = {"adaptive": AdaptiveLimit, "fixed": FixedLimit}


def in_flight_limit(mode: str, ceiling: int, clock: Callable[[], float] = time.monotonic) -> InFlightLimit:
    """The policy named `mode` ("adaptive" or "fixed") with `ceiling` requests in flight at most; `clock` is the
    runtime's (an adaptive limit paces on it)."""
    return AdaptiveLimit(ceiling, clock=clock) if mode == "adaptive" else FixedLimit(ceiling)
