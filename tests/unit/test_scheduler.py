"""The scheduler on real threads: answers are handed over on the pool's threads, and what goes wrong there is
the call's to raise, not a pool thread's to log and drop."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest

from forwarder.publish.options import PublishOptions
from forwarder.publish.runtime import Runtime
from forwarder.publish.scheduler import Scheduler
from forwarder_testing.service import make_entry


class BrokenSettler:
    """Raises on every answer, as a bug in settlement would; remembers the threads it was called on."""

    def __init__(self) -> None:
        self.threads: set[int] = set()

    def answered(self, indices: list[int], future: Future) -> None:
        self.threads.add(threading.get_ident())
        raise LookupError("settlement broke")

    def quarantined(self, index: int, future: Future) -> None:
        raise AssertionError("nothing is quarantined here")

    def prepared(self, index: int, future: Future) -> None:
        raise AssertionError("nothing is prepared here")


def test_a_failure_while_settling_on_a_pool_thread_is_raised_by_the_call():
    # GIVEN requests answered on the pool's threads, and a settlement that raises on each answer
    answered = threading.Event()

    def send(entries: list[dict], deadline: float) -> dict:
        answered.wait(5)  # every request is in flight before the first answer: pool threads hand them over
        return {"Entries": [{"EventId": "e"} for _ in entries]}

    items = [make_entry(key) for key in range(40)]
    options = PublishOptions(max_request_bytes=2000, max_concurrency=4, max_attempts=3, max_entries=10)
    # (a deadline, so that a failure swallowed on a pool thread ends the call there instead of hanging it)
    scheduler = Scheduler(send, items, options, Runtime(), deadline=time.monotonic() + 5, coalesce_seconds=0.0)
    for index in range(len(items)):
        scheduler.ready(index)
    settler = BrokenSettler()
    threading.Timer(0.05, answered.set).start()
    # WHEN the call runs THEN it raises what settlement raised, on whichever thread that was
    try:
        with pytest.raises(LookupError, match="settlement broke"):
            scheduler.run(settler)
    finally:
        answered.set()
        scheduler.stop()
    assert threading.get_ident() not in settler.threads  # handed over on a pool thread, not the call's
