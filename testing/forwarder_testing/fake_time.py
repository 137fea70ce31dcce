"""Virtual time for the publisher: a clock that moves only when something sleeps, and executors without threads.

`FakeTime.runtime()` is a `forwarder.publish.runtime.Runtime` on that time line. An executor call runs at once on the
caller's thread (as s3transfer's NonThreadedExecutor does), but as a call of its own: while it runs, `sleep`
adds to its duration instead of moving the clock, and its future is done only when the clock reaches its end.
So a peer that sleeps 10 s "hangs" for 10 virtual seconds, while the caller's loop waits up to its deadline
and moves on, deterministically and in no wall time. An executor runs at most `workers` calls at once; the
others wait their turn, as in a thread pool, and can be cancelled until they start.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Collection
from concurrent.futures import Executor, Future
from typing import Any

from forwarder.publish.runtime import Runtime


class FakeTime:
    def __init__(self, start: float = 1000.0):
        self.now = start
        self._events: list[tuple[float, int, Callable[[], None]]] = []  # heap of (when, order, what)
        self._order = itertools.count()
        self._calls: list[float] = []  # the durations so far of the calls running, innermost last

    def runtime(self) -> Runtime:
        return Runtime(clock=self.clock, sleep=self.sleep, wait=self.wait, executor_factory=self.executor)

    def executor(self, workers: int) -> FakeExecutor:
        return FakeExecutor(self, workers)

    def clock(self) -> float:
        return self.now + (self._calls[-1] if self._calls else 0.0)

    def sleep(self, seconds: float) -> None:
        if self._calls:
            self._calls[-1] += max(0.0, seconds)
        else:
            self._advance(self.now + max(0.0, seconds))

    def wait(self, futures: Collection[Future], timeout: float | None) -> set[Future]:
        """As `wait(..., FIRST_COMPLETED)`: moves the clock to the first completion, or to the timeout."""
        limit = float("inf") if timeout is None else self.now + timeout
        while not (done := {future for future in futures if future.done()}):
            if not self._events or self._events[0][0] > limit:
                if limit == float("inf"):
                    raise AssertionError("waiting forever: nothing is scheduled to finish")
                self.now = limit
                return set()
            self._step()
        return done

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, (when, next(self._order), action))

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any, BaseException | None]:
        """Run one call now, as a call of its own: (its duration, its result, what it raised)."""
        self._calls.append(0.0)
        try:
            result, error = fn(*args, **kwargs), None
        except BaseException as raised:  # noqa: BLE001 - a thread pool hands any exception to the future
            result, error = None, raised
        return self._calls.pop(), result, error

    def run_until(self, finished: Callable[[], bool]) -> None:
        """Move the clock from event to event until `finished()`."""
        while not finished():
            if not self._events:
                raise AssertionError("waiting forever: nothing is scheduled to finish")
            self._step()

    def _advance(self, to: float) -> None:
        while self._events and self._events[0][0] <= to:
            self._step()
        self.now = max(self.now, to)

    def _step(self) -> None:
        when, _, action = heapq.heappop(self._events)
        self.now = max(self.now, when)
        action()


class FakeExecutor(Executor):
    def __init__(self, time: FakeTime, workers: int):
        self._time, self._free, self._workers = time, workers, workers
        self._waiting: deque[tuple[Future, Callable[[], Any]]] = deque()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        self._waiting.append((future, lambda: fn(*args, **kwargs)))
        self._start_waiting()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        while cancel_futures and self._waiting:
            self._waiting.popleft()[0].cancel()
        if wait:  # as a thread pool's: until every call submitted has finished, however late
            self._time.run_until(lambda: self._free == self._workers and not self._waiting)

    def _start_waiting(self) -> None:
        while self._free and self._waiting:
            future, call = self._waiting.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            self._free -= 1
            duration, result, error = self._time.run(call)
            self._time.at(self._time.now + duration, lambda f=future, r=result, e=error: self._finish(f, r, e))

    def _finish(self, future: Future, result: Any, error: BaseException | None) -> None:
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
        self._free += 1
        self._start_waiting()
