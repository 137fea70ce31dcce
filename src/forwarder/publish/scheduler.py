"""Moving one publish call's work between its queues: ready -> packed -> in flight, and back after a backoff.

The scheduler decides nothing about outcomes: it packs what is ready into requests, keeps at most
`max_concurrency` of them in flight, holds retries until their backoff ends, and hands every finished
request, quarantine send and preparation to its `Settler`. All waiting ends at the deadline, even when
the endpoint hangs, because the loop stops waiting instead of trusting socket timeouts. How many requests
are in flight is the in-flight limit's (`concurrency`) to say: it sees every answer before the settler does.
Below one in flight it also paces (`pacing`): a packed request then waits for its token among the other
timers, and when nothing is in flight and nothing can go before the deadline, the loop ends at once and what
is left is reported, rather than sleeping to the deadline to report the same.

Who moves the work: each finished request (quarantine send, preparation) is handed over by a done callback on
the thread that finished it, a pool thread mostly, which under the scheduler's lock settles it and sends what
may go next; the pool thread then takes that request from its queue without waiting. The call's own thread
(`run`) only starts the work, waits for timers (backoffs, the pace, the deadline, a caller's stop) and ends
the call; it is woken when its wait must change (nothing is in flight any more, or a timer comes sooner), not
per answer. Handing every answer to the call's thread and every request back to a pool thread cost two thread
wake-ups per request, which under a small CPU share is a large part of a request's CPU (BENCHMARKS.md).
"""

from __future__ import annotations

import heapq
import math
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

from forwarder.publish.batching import pack
from forwarder.publish.concurrency import THROTTLED, FixedLimit, InFlightLimit
from forwarder.publish.runtime import Runtime

if TYPE_CHECKING:
    from threading import Event

    from forwarder.core.protocols import Send
    from forwarder.publish.options import PublishOptions

# `_call`'s answer when the deadline came before its request could start: nothing was sent. (A sentinel,
# as a send may return any value, None included.)
NOT_SENT = object()
# A caller's stop (an interrupted command): how often the loop looks at it, and how long what is in flight
# then has to answer before the call ends without it.
STOP_POLL_SECONDS = 0.1
STOP_GRACE_SECONDS = 2.0


class Settler(Protocol):
    """Who is told of finished work: a request's answer, a quarantine send, an item's preparation."""

    def answered(self, indices: list[int], future: Future) -> None: ...
    def quarantined(self, index: int, future: Future) -> None: ...
    def prepared(self, index: int, future: Future) -> None: ...


class Scheduler:
    """The queues of one call. Items come in by index (`ready`, `later`, `split`); `run` moves them on."""

    def __init__(self, send: Send, items: list, options: PublishOptions, runtime: Runtime, deadline: float,
                 coalesce_seconds: float, limit: InFlightLimit | None = None, stop: Event | None = None):
        """`limit` (default: `max_concurrency`, fixed) outlives the call: the publisher keeps it. Once `stop` is
        set, nothing more is sent and what is in flight has STOP_GRACE_SECONDS to answer (`stopped`)."""
        self._send, self._items, self._options, self._runtime = send, items, options, runtime
        self._limit = limit or FixedLimit(options.max_concurrency)
        self.deadline = deadline
        self._coalesce = coalesce_seconds
        self._ready: list[int] = []
        self._delayed: list[tuple[float, int]] = []  # heap of (not before, index)
        self._queued: deque[list[int]] = deque()  # packed requests waiting for a free slot
        self._in_flight: dict[Future, list[int]] = {}  # PutEvents requests, at most the limit's
        self.throttled = 0  # answers that said throttling (PutEventsThrottled)
        self._sent: dict[Future, tuple[int, float]] = {}  # the limit's round and the time each request went out
        self._quarantining: dict[Future, int] = {}
        self._preparing: dict[Future, int] = {}  # Pending items whose future has not resolved yet
        self._next_token = math.inf  # while paced, and a packed request waits for it: when it may go
        self._executor = runtime.executor_factory(options.max_concurrency)
        self._stop = stop
        self.stopped = False  # by the caller's stop, before the work was done
        # Every step (a hand-over, a dispatch) is taken under the lock, on whichever thread. A done callback
        # that runs inside a step of its own thread (a future done before it was watched) leaves the future in
        # `_finished` for that step to take, rather than starting a step within a step.
        self._lock = threading.Lock()
        self._owner: int | None = None  # the thread whose step holds the lock
        self._finished: deque[Future] = deque()  # done, not yet handed over
        self._settler: Settler | None = None  # while `run` runs
        self._sending = True  # False once the caller stopped the call: what is in flight is only settled
        self._closed = False  # the call ended: what finishes later is left to `left_open`
        self._look = Future()  # set when the call's thread must look again (see `_step`)
        self._waiting_until = math.inf  # the timer the call's thread waits for
        self._failure: BaseException | None = None  # raised by a step on another thread: `run` raises it

    # -- work handed in -----------------------------------------------------------------------

    def ready(self, index: int) -> None:
        self._ready.append(index)

    def ready_all(self, indices: list[int]) -> None:
        self._ready.extend(indices)

    def later(self, index: int, not_before: float) -> None:
        heapq.heappush(self._delayed, (not_before, index))

    def split(self, indices: list[int]) -> None:
        """Halve a request refused whole: first in line, and as they are (packing them again would rebuild
        the refused request); halving isolates the entry at fault in log2(n) rounds."""
        middle = len(indices) // 2
        self._queued.extendleft([indices[middle:], indices[:middle]])

    def quarantine(self, call: Callable[[int, str, str, float], None], index: int, code: str, message: str) -> None:
        future = self._executor.submit(call, index, code, message, self.deadline)
        self._quarantining[future] = index
        future.add_done_callback(self._done)

    def prepare(self, future: Future, index: int) -> None:
        self._preparing[future] = index
        if self._settler is not None:  # before `run`, it watches them all
            future.add_done_callback(self._done)

    # -- the loop -----------------------------------------------------------------------------

    def run(self, settler: Settler) -> None:
        """Until the deadline, or until nothing is left to send or wait for."""
        clock = self._runtime.clock
        with self._lock:
            self._settler = settler
        for future in list(self._preparing):
            future.add_done_callback(self._done)
        try:
            while (now := clock()) < self.deadline:
                if self._stop is not None and self._stop.is_set():
                    self._wind_down()
                    return
                with self._lock:
                    if self._closed:
                        return  # a step on another thread failed: `_close` raises what it raised
                    self._step()
                    pending = self._pending()
                    if not (pending or self._delayed or self._queued):
                        return
                    wake = self._wake()
                    if not pending and wake >= self.deadline:
                        return  # only timers left, and none ends before the deadline: report now, not then
                    look = self._look = Future()
                    self._waiting_until = wake
                timeout = None if wake == math.inf else max(0.0, wake - now)
                if self._stop is not None:  # a signal handler sets it: nothing wakes a wait for it
                    timeout = STOP_POLL_SECONDS if timeout is None else min(timeout, STOP_POLL_SECONDS)
                if not pending:
                    self._runtime.sleep(timeout or 0.0)  # only backoffs and the pace are pending
                    continue
                self._runtime.wait([look], timeout)
        finally:
            self._close()

    def _wind_down(self) -> None:
        """The caller stopped the call: nothing more goes out (what answers ask to send again stays unsent), and
        what is in flight is settled by its answer if that comes within the grace."""
        self.stopped = True
        clock = self._runtime.clock
        end = min(self.deadline, clock() + STOP_GRACE_SECONDS)
        while True:
            with self._lock:
                if self._closed:
                    return
                self._sending = False
                self._step()
                if not self._pending():
                    return
                look = self._look = Future()
            if (now := clock()) >= end:
                return
            self._runtime.wait([look], end - now)

    def _done(self, future: Future) -> None:
        """A watched future finished (on the thread that finished it): hand it over and send what may go next."""
        self._finished.append(future)
        if self._owner == threading.get_ident() or self._closed:
            return  # a step of this thread takes it; or the call ended, and left_open reports it
        with self._lock:
            if self._closed or self._settler is None:
                return  # ended; or not yet running (a quarantine sent at the start): run's first step takes it
            try:
                self._step()
            except BaseException as error:  # noqa: BLE001 - a pool thread would only log it: the call's thread raises it
                self._failure = error
                self._closed = True
                self._wake_the_call()

    def _step(self) -> None:
        """Under the lock: hand over what finished, release the backoffs that ended, send what may go; then
        wake the call's thread if its wait must change (nothing in flight any more, or a timer comes sooner)."""
        self._owner = threading.get_ident()
        try:
            while True:
                while self._finished:
                    self._hand_over(self._finished.popleft())
                now = self._runtime.clock()
                if self._sending and now < self.deadline:
                    self._release_delayed(now)
                    self._dispatch(now)
                if not self._finished:  # a callback inside the dispatch (a request that failed at once)
                    break
        finally:
            self._owner = None
        if not self._pending() or self._wake() < self._waiting_until:
            self._wake_the_call()

    def _wake_the_call(self) -> None:
        if not self._look.done():
            self._look.set_result(None)

    def _pending(self) -> bool:
        return bool(self._in_flight or self._quarantining or self._preparing)

    def _close(self) -> None:
        """The call ends: what finished meanwhile (the last wait timed out as it did) has its answer, so it is
        settled by it rather than reported as cut off. Otherwise an entry the service confirmed would come back
        a duplicate, and a record the quarantine queue took would also be reported. What finishes after this
        is left open (`left_open`)."""
        with self._lock:
            if self._failure is None:
                self._owner = threading.get_ident()
                try:
                    for future in [f for f in (*self._in_flight, *self._quarantining, *self._preparing) if f.done()]:
                        self._hand_over(future)
                finally:
                    self._owner = None
            self._closed = True
            self._finished.clear()
        if self._failure is not None:
            raise self._failure

    def _hand_over(self, future: Future) -> None:
        settler = self._settler
        if future in self._in_flight:
            sent_in_round, sent_at = self._sent.pop(future)
            indices = self._in_flight[future]
            round_trip = self._runtime.clock() - sent_at
            if self._limit.observe(future, sent_in_round, round_trip, len(indices)) == THROTTLED:
                self.throttled += 1
            settler.answered(self._in_flight.pop(future), future)
        elif future in self._quarantining:
            settler.quarantined(self._quarantining.pop(future), future)
        elif future in self._preparing:
            settler.prepared(self._preparing.pop(future), future)

    def _wake(self) -> float:
        """The first timer to end: a backoff, the next token for a packed request, or the deadline."""
        wake = min(self.deadline, self._delayed[0][0]) if self._delayed else self.deadline
        return min(wake, self._next_token)

    def _release_delayed(self, now: float) -> None:
        while self._delayed and self._delayed[0][0] <= now + self._coalesce:
            self._ready.append(heapq.heappop(self._delayed)[1])

    def _dispatch(self, now: float) -> None:
        self._next_token = math.inf
        # Never more requests in the pool than the limit (at most its threads): waiting stays cheap, and
        # what the deadline cuts off was never started, so it is reported without any doubt about it.
        while self._pack_ready() and len(self._in_flight) < self._limit.limit:
            wait = self._limit.pace()
            if wait:
                self._next_token = now + wait
                return
            indices = self._queued.popleft()
            fields = [self._items[index].fields for index in indices]
            future = self._executor.submit(self._call, fields)
            self._in_flight[future], self._sent[future] = indices, (self._limit.round, now)
            future.add_done_callback(self._done)

    def _pack_ready(self) -> bool:
        """Pack what is ready into requests once those already packed are gone; True if a request waits.

        What becomes ready while requests wait (for a slot, or for a token while paced) waits with them and
        is packed with what comes after it: the entries retried a few at a time fill whole requests, rather
        than each taking a request of its own. Paced, a request costs a token whatever it holds, and small
        ones cut the entries that get through (a lone instance near its quota lost half of them so)."""
        if self._ready and not self._queued:
            ready, items = self._ready, self._items
            self._ready = []
            sizes = [items[index].size for index in ready]
            self._queued.extend(pack(ready, sizes, self._options.max_request_bytes, self._options.max_entries))
        return bool(self._queued)

    def _call(self, fields: list[dict]) -> Any:
        """Runs on a pool thread. NOT_SENT means the deadline passed before the request could start."""
        if self._runtime.clock() >= self.deadline:
            return NOT_SENT
        return self._send(fields, self.deadline)

    # -- the end ------------------------------------------------------------------------------

    def stop(self) -> None:
        # Do not wait for a hung request: its entries are reported as unconfirmed.
        self._executor.shutdown(wait=False, cancel_futures=True)

    def left_open(self) -> tuple[list[list[int]], list[int], list[int]]:
        """What the deadline cut off: requests that may have been sent (each an attempt, as a request that
        failed is), items still being prepared, and items still being quarantined."""
        sent = [indices for future, indices in self._in_flight.items() if _may_have_been_sent(future)]
        return sent, list(self._preparing.values()), list(self._quarantining.values())


def _may_have_been_sent(future: Future) -> bool:
    """False only for a request that never reached `send`: cancelled at shutdown, or refused by the deadline."""
    if future.cancelled():
        return False
    return not (future.done() and future.exception() is None and future.result() is NOT_SENT)
