"""The publisher's time and threads, injected together: the clock, the sleep and the executor.

The publisher reads the time, waits and runs requests only through a `Runtime`, so a test can hand it
a fake clock and a non-threaded executor (as s3transfer does) and run deadlines deterministically, in
no wall time. The default is the real thing: `time.monotonic`, `time.sleep` and a thread pool.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass


def thread_pool(workers: int) -> Executor:
    """One pool per publish call, sized to its concurrency; it is shut down without waiting when the call ends."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="put-events")


def first_completed(futures: Collection[Future], timeout: float | None) -> set[Future]:
    """The futures that are done once at least one is, or `timeout` seconds have passed (None: no limit)."""
    done, _ = wait_for(futures, timeout=timeout, return_when=FIRST_COMPLETED)
    return done


@dataclass(frozen=True, slots=True)
class Runtime:
    """`clock()` on the time line deadlines are given in; `sleep(seconds)`; `wait(futures, timeout)` as
    `first_completed`; `executor_factory(workers)` for the requests and quarantine sends of one call."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wait: Callable[[Collection[Future], float | None], set[Future]] = first_completed
    executor_factory: Callable[[int], Executor] = thread_pool
