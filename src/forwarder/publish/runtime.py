"""The publisher's time and threads, injected together: the clock, the sleep and the executor.

The publisher reads the time, waits and runs requests only through a `Runtime`, so a test can hand it
a fake clock and a non-threaded executor (as s3transfer does) and run deadlines deterministically, in
no wall time. The default is the real thing: `time.monotonic`, `time.sleep` and a thread pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from queue import Empty, SimpleQueue


def thread_pool(workers: int) -> Executor:
    """One pool per publish call, sized to its concurrency; it is shut down without waiting when the call ends."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="put-events")


class KeptPool:
    """An `executor_factory` that keeps one thread pool for the calls of one publisher, where they come one after
    another: the handler's (Lambda hands a container one invocation at a time). Starting a call's threads anew
    costs about 1.5 ms of CPU per call (bench/notes.md), a large share of a small batch at a small CPU share.

    Each call gets a view of the pool (`_CallPool`) that behaves as a pool of its own: its shutdown cancels only
    the call's own requests that have not started, and nothing can be submitted through it after that. A call
    gets a pool of its own, as with `thread_pool`, when the kept one may not be free: another call is using it
    (calls from several threads at once), a request of the call before is still running (a request past its
    deadline that has not ended yet would hold a thread), or the call asks for another number of workers.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._workers = 0
        self._last: _CallPool | None = None  # the call that had the pool last

    def __call__(self, workers: int) -> Executor:
        with self._lock:
            last = self._last
            if last is not None and (last.using or last.running()):
                return thread_pool(workers)
            if self._pool is None or workers != self._workers:
                if self._pool is not None:
                    self._pool.shutdown(wait=False)  # idle (nothing of the last call runs): its threads exit
                self._pool, self._workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="put-events"), \
                    workers
            self._last = _CallPool(self._pool)
            return self._last


class _CallPool(Executor):
    """One call's view of a kept pool: its own futures, cancelled (if not started) when it is shut down."""

    def __init__(self, pool: ThreadPoolExecutor):
        self._pool = pool
        self._futures: list[Future] = []
        self.using = True  # until shut down

    def submit(self, fn: Callable, /, *args: object, **kwargs: object) -> Future:
        if not self.using:
            raise RuntimeError("cannot schedule new futures after shutdown")  # as ThreadPoolExecutor says it
        future = self._pool.submit(fn, *args, **kwargs)
        self._futures.append(future)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.using = False
        if cancel_futures:
            for future in self._futures:
                future.cancel()  # only what has not started: a running request ends by its deadline
        self._futures = [future for future in self._futures if not future.done()]
        if wait:
            wait_for(self._futures)

    def running(self) -> bool:
        """Whether a request of this call is still running (on one of the pool's threads)."""
        return any(not future.done() for future in self._futures)


def futures_wait(futures: Collection[Future], timeout: float | None) -> set[Future]:
    """concurrent.futures' own wait: a waiter installed on, and removed from, every future on every call."""
    done, _ = wait_for(futures, timeout=timeout, return_when=FIRST_COMPLETED)
    return done


class _Finished(threading.local):
    """The waiting thread's queue of finished futures."""

    def __init__(self) -> None:
        self.queue: SimpleQueue[Future] = SimpleQueue()


_finished = _Finished()
_QUEUE = "_forwarder_finished"  # the attribute naming the queue a future reports to


def first_completed(futures: Collection[Future], timeout: float | None) -> set[Future]:
    """The futures that are done once at least one is, or `timeout` seconds have passed (None: no limit).

    concurrent.futures.wait installs a waiter on every pending future and removes it again, under each
    future's lock, on every call: with a request finishing per call, that is most of a request's hand-off
    CPU. Here each future is watched once, by a done callback that puts it on the waiting thread's queue,
    and a call takes what is on it. The queue is the thread's own, so callers on other threads never take
    each other's futures; a future that finished after its caller stopped waiting for it is dropped.
    """
    if _IMPLEMENTATION is not None:
        return _IMPLEMENTATION(futures, timeout)
    finished = _finished.queue
    wanted = set(futures)
    for future in wanted:
        if getattr(future, _QUEUE, None) is not finished:
            setattr(future, _QUEUE, finished)
            future.add_done_callback(finished.put)  # at once, on this thread, if it is already done
    done: set[Future] = set()
    end = None if timeout is None else time.monotonic() + timeout
    while not done:
        try:
            future = finished.get(timeout=None if end is None else max(0.0, end - time.monotonic()))
        except Empty:
            return done
        if future in wanted:
            done.add(future)
    while True:  # whatever else finished meanwhile, without waiting
        try:
            future = finished.get_nowait()
        except Empty:
            return done
        if future in wanted:
            done.add(future)


_IMPLEMENTATION = None


@dataclass(frozen=True, slots=True)
class Runtime:
    """`clock()` on the time line deadlines are given in; `sleep(seconds)`; `wait(futures, timeout)` as
    `first_completed`; `executor_factory(workers)` for the requests and quarantine sends of one call."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wait: Callable[[Collection[Future], float | None], set[Future]] = first_completed
    executor_factory: Callable[[int], Executor] = thread_pool
