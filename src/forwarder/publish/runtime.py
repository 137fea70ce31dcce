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
        self._pool: _Workers | None = None
        self._last: _CallPool | None = None  # the call that had the pool last

    def __call__(self, workers: int) -> Executor:
        with self._lock:
            last = self._last
            if last is not None and (last.using or last.running()):
                return thread_pool(workers)
            if self._pool is None or workers != self._pool.workers:
                if self._pool is not None:
                    self._pool.shutdown()  # idle (nothing of the last call runs): its threads exit
                self._pool = _Workers(workers)
            self._last = _CallPool(self._pool)
            return self._last


class _Workers:
    """The kept pool's threads: each takes the next task from one queue and runs it, settling its future.

    ThreadPoolExecutor does the same with more on every task (its shutdown locks and a work item to submit, a
    semaphore released and taken again to count its idle threads): up to about 1 us of CPU per record of the
    handler's (bench/notes.md). A thread is started at each of the first `workers` submits, so a small first
    batch starts few; they are daemon threads, as nothing waits for them at exit (a request still running then
    was already reported: `Scheduler.left_open`)."""

    def __init__(self, workers: int):
        self.workers = workers
        self._queue: SimpleQueue[tuple | None] = SimpleQueue()
        self._threads = 0
        self._lock = threading.Lock()

    def submit(self, future: Future, fn: Callable, args: tuple, kwargs: dict) -> None:
        self._queue.put((future, fn, args, kwargs))
        if self._threads < self.workers:
            with self._lock:
                if self._threads < self.workers:
                    name = f"put-events_{self._threads}"
                    threading.Thread(target=self._work, name=name, daemon=True).start()
                    self._threads += 1

    def shutdown(self) -> None:
        """Each thread ends once the tasks queued before this have run."""
        with self._lock:
            for _ in range(self._threads):
                self._queue.put(None)

    def _work(self) -> None:
        get = self._queue.get
        while (task := get()) is not None:
            _run(*task)
            del task  # nothing of a finished task is kept while the thread waits for the next


def _run(future: Future, fn: Callable, args: tuple, kwargs: dict) -> None:
    """A task, as ThreadPoolExecutor runs one: not at all if its future was cancelled, and whatever it raises
    is its future's."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except BaseException as error:  # noqa: BLE001 - the future's to give, as ThreadPoolExecutor's does
        future.set_exception(error)
    else:
        future.set_result(result)


PRUNE_AT = 64  # a call's futures, at least: the finished ones are let go as their number doubles


class _CallPool(Executor):
    """One call's view of a kept pool: its own futures, cancelled (if not started) when it is shut down."""

    def __init__(self, pool: _Workers):
        self._pool = pool
        self._futures: list[Future] = []  # those not known to be finished
        self._prune_at = PRUNE_AT  # the length at which the finished ones are let go
        self._lock = threading.Lock()
        self.using = True  # until shut down

    def submit(self, fn: Callable, /, *args: object, **kwargs: object) -> Future:
        if not self.using:
            raise RuntimeError("cannot schedule new futures after shutdown")  # as ThreadPoolExecutor says it
        future: Future = Future()
        with self._lock:
            futures = self._futures
            if len(futures) >= self._prune_at:
                # Only what has not finished is of use (to cancel, or to tell that the call still runs): a finished
                # request kept to the end of the call kept its answer alive, for the collector to scan again and
                # again (about 0.6 us per record of a 10,000-record call, bench/notes.md).
                self._futures = futures = [kept for kept in futures if not kept.done()]
                self._prune_at = max(PRUNE_AT, 2 * len(futures))
            futures.append(future)
        self._pool.submit(future, fn, args, kwargs)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.using = False
        with self._lock:
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
