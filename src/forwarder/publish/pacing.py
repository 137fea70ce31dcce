"""A send rate below one request in flight: botocore's CUBIC rate and token bucket, driven by our clock.

The in-flight limit (concurrency.py) cannot go below one request, and one request in flight at 10-50 ms is
20-100 requests/s: more than an instance's share of the regional PutEvents quota once a few dozen instances
share it. So when throttling goes on at a limit of one, the instance also paces its requests: a send rate
that backs off multiplicatively on throttling and grows back while answers are clean, down to `FLOOR_RATE`
(a request every `1 / FLOOR_RATE` seconds). It lives with the limit, so a warm instance keeps it. Whether
an answer reaches `throttled` is the limit's to say (concurrency.py): only answers to requests sent after the
last cut, and only once the throttled share of entries shows that the instance sends well past what gets
through; every answer that reaches it is a cut, so throttling no rate can avoid must not reach it.

The parts are botocore's own, from its "adaptive" retry mode: `throttling.CubicCalculator` (the rate after
a throttled or a clean answer), `adaptive.RateClocker` (the measured answer rate) and `bucket.TokenBucket`
(the tokens). Its `ClientRateLimiter` is not used whole, because its `acquire` sleeps until a token comes:
a publish call must never block past its deadline, and must run on the runtime's (possibly fake) clock. So
tokens are taken with `acquire(block=False)`, and the scheduler is told how long until the next one, to
wait for it among its other timers, or to give up at once when it comes after the deadline.

Two changes to botocore's tuning, both found in `make scale`'s fleets (docs/scale-results.md). Its CUBIC
constant (0.4 requests/s per s^3) suits one client that owns a quota; at a fleet's share of one or two
requests/s it is back at the last throttled rate within a second and probes past it, so every instance is
throttled every few requests. Here the constant is taken relative to the rate at the last throttling, so the
curve has the same shape at any rate: back at the throttled rate after `RECOVERY_SECONDS`, twice that rate
about 2.5 times as long after the cut. And botocore starts from, and caps growth at twice, the measured
answer rate, which lags by a second or more and is nothing on a cold start (its first clean answer cut the
rate to the floor): here pacing starts from one request per round trip, and the cap never cuts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from botocore.exceptions import CapacityNotAvailableError
from botocore.retries.adaptive import RateClocker
from botocore.retries.bucket import TokenBucket
from botocore.retries.throttling import CubicCalculator

FLOOR_RATE = 0.1  # requests/s: one request every 10 s at the slowest
BETA = 0.7  # the rate kept when some entries are throttled (botocore's CUBIC beta)
REFUSED_BETA = 0.5  # the rate kept when the request is refused whole (the quota is spent, not just short)
RECOVERY_SECONDS = 8.0  # from a throttled answer back to the rate it throttled at
GROWTH = (1 - BETA) / RECOVERY_SECONDS**3  # CUBIC's constant, per request/s of the throttled rate
MAX_GROWTH = 2.0  # a new rate is at most this times the measured one (botocore's limiter's cap)


class _Clock:
    """botocore's clock interface (`current_time`, `sleep`) over the runtime's clock; nothing here sleeps."""

    def __init__(self, clock: Callable[[], float]):
        self.current_time = clock

    def sleep(self, seconds: float) -> None:
        raise AssertionError("pacing never sleeps: the scheduler waits for the next token")


class SendRate:
    """Off until `throttled` is called; then a token per request, at a rate CUBIC sets from the answers.

    Once the rate grows past what one request in flight sends (one per round trip), pacing holds nothing
    back and turns itself off, and the in-flight limit grows again as before."""

    def __init__(self, clock: Callable[[], float], floor: float = FLOOR_RATE):
        self._clock = _Clock(clock)
        self._floor = floor
        self._measured = RateClocker(self._clock)
        self._bucket: TokenBucket | None = None  # None: not pacing
        self._cubic: CubicCalculator | None = None
        self._round_trip = 0.0  # seconds per answer, smoothed: one in flight sends 1 / this a second
        self._lock = threading.Lock()

    @property
    def pacing(self) -> bool:
        return self._bucket is not None

    @property
    def rate(self) -> float | None:
        """Requests per second while pacing, else None."""
        return self._bucket.max_rate if self._bucket is not None else None

    def answered(self, round_trip: float | None = None) -> None:
        """Count an answer (throttled or clean) that took `round_trip` seconds; call before `throttled` or
        `clean`."""
        self._measured.record()
        if round_trip is not None and round_trip >= 0:
            self._round_trip = round_trip if not self._round_trip else 0.8 * self._round_trip + 0.2 * round_trip

    def throttled(self, refused: bool = False) -> None:
        """A throttled answer at one request in flight (or while pacing): back off to BETA of the rate, or to
        REFUSED_BETA when the request was `refused` whole."""
        now = self._clock.current_time()
        with self._lock:
            if self._bucket is None:
                # What one request in flight sends. (botocore takes the measured rate, here and below; it lags
                # by a second or more, and on a cold start is nothing, which cut the rate to the floor at once.)
                measured = self._measured.measured_rate
                current = max(self._floor, 1 / self._round_trip if self._round_trip else measured)
                self._bucket = TokenBucket(max_rate=current, clock=self._clock, min_rate=self._floor)
            else:
                current = self._bucket.max_rate
            beta = REFUSED_BETA if refused else BETA
            self._cubic = CubicCalculator(current, now, scale_constant=GROWTH * current, beta=beta)
            self._bucket.max_rate = max(self._floor, self._cubic.error_received(current, now))

    def clean(self) -> None:
        """A clean answer: the rate follows CUBIC's curve up; past one in flight's rate, pacing ends."""
        if self._cubic is None:
            return
        now = self._clock.current_time()
        with self._lock:
            if self._cubic is None:
                return
            rate = self._cubic.success_received(now)
            if self._round_trip and rate * self._round_trip > 1:
                self._bucket = self._cubic = None
                return
            # botocore caps a new rate at twice the measured one, so that a rate not used is not grown; here
            # the cap only holds growth back, never cuts (the measured rate lags, and on a cold start is 0)
            cap = max(self._bucket.max_rate, MAX_GROWTH * self._measured.measured_rate)
            self._bucket.max_rate = max(self._floor, min(rate, cap))

    def take(self) -> float:
        """0.0 when a request may go now (its token taken), else the seconds until the next token."""
        bucket = self._bucket
        if bucket is None:
            return 0.0
        try:
            bucket.acquire(block=False)
        except CapacityNotAvailableError:
            # acquire refilled the bucket at the current time: what is missing comes at the fill rate
            return max(1e-6, (1.0 - bucket.available_capacity) / bucket.max_rate)
        return 0.0
