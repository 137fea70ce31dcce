"""Many warm function instances on one virtual clock, sharing one PutEvents quota: a fleet two cores can carry.

Each instance is a thread running the forwarder's real `Publisher` (its scheduler, settlement, retry policy,
in-flight limit and send rate) on a `Runtime` whose clock, sleep, wait and executor belong to a `World`.
Only one thread runs at a time: an instance runs until it sleeps or waits, then hands the baton back, and
the world moves its clock to the next event (a request's answer, a timer) and wakes whoever it concerns.
So 200 instances cost what their CPU work costs, never their waiting, and a run is the same every time for
the same seeds (the threads never race: they take turns).

What is simulated is only the network and the service: a request reaches the quota (`Quota`: token buckets
of requests/s and entries/s, answered as EventBridge answers, refused whole with ThrottlingException or
entries answered ThrottlingException) when it is sent, and its answer comes back `latency` later.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Collection
from concurrent.futures import Executor, Future
from typing import Any

from botocore.exceptions import ClientError

from forwarder.publish.runtime import Runtime
from forwarder_testing.fault_endpoint.quota import THROTTLED_ENTRY, TokenBucket

REQUEST_THROTTLED = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                     "ResponseMetadata": {"HTTPStatusCode": 400}}


class World:
    """The virtual clock, its events, and the baton the instance threads pass around."""

    def __init__(self, start: float = 0.0):
        self.now = start
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._baton = threading.Semaphore(0)  # released by an instance thread when it blocks or ends
        self.actors: list[Actor] = []

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, (max(when, self.now), next(self._order), action))

    def spawn(self, body: Callable[[Actor], None], start_at: float = 0.0) -> Actor:
        actor = Actor(self, body)
        self.actors.append(actor)
        self.at(start_at, actor.start)
        return actor

    def run(self) -> None:
        """Until no event is left (every instance has ended)."""
        while self._events:
            when, _, action = heapq.heappop(self._events)
            self.now = max(self.now, when)
            action()
        errors = [actor.error for actor in self.actors if actor.error is not None]
        if errors:
            raise errors[0]

    def hand_to(self, actor: Actor) -> None:
        """Let `actor` run until it blocks or ends (called on the world's thread)."""
        actor.go.release()
        self._baton.acquire()

    def hand_back(self) -> None:
        self._baton.release()


class Actor:
    """One instance's thread, with the `Runtime` its publisher runs on."""

    def __init__(self, world: World, body: Callable[[Actor], None]):
        self.world, self._body = world, body
        self.go = threading.Semaphore(0)
        self._token = 0  # bumped at every wake: a wake-up scheduled for an older block is stale
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def runtime(self, latency: Callable[[], float]) -> Runtime:
        return Runtime(clock=self.clock, sleep=self.sleep, wait=self.wait,
                       executor_factory=lambda workers: DelayExecutor(self.world, latency))

    def start(self) -> None:
        self._thread.start()
        self.world._baton.acquire()  # runs until its first block

    def _main(self) -> None:
        try:
            self._body(self)
        except BaseException as error:  # noqa: BLE001 - handed to World.run, which raises it
            self.error = error
        finally:
            self.world.hand_back()

    def clock(self) -> float:
        return self.world.now

    def sleep(self, seconds: float) -> None:
        self._wake_at(self.world.now + max(0.0, seconds))
        self._block()

    def wait(self, futures: Collection[Future], timeout: float | None) -> list[Future]:
        """As `wait(..., FIRST_COMPLETED)` on the world's clock; the futures done, in the order given (a set's
        order would follow memory addresses, and a run would not be the same twice)."""
        done = [future for future in futures if future.done()]
        if done or timeout == 0:
            return done
        token = self._token
        for future in futures:
            future.add_done_callback(lambda _, t=token: self.world.at(self.world.now, lambda: self._wake(t)))
        if timeout is not None:
            self._wake_at(self.world.now + timeout)
        self._block()
        return [future for future in futures if future.done()]

    def _wake_at(self, when: float) -> None:
        token = self._token
        self.world.at(when, lambda: self._wake(token))

    def _wake(self, token: int) -> None:
        if token != self._token:
            return  # woken already for that block
        self._token += 1
        self.world.hand_to(self)

    def _block(self) -> None:
        self.world.hand_back()
        self.go.acquire()


class DelayExecutor(Executor):
    """Runs a call at once on the caller's thread (a request reaches the service when sent); its future is
    done `latency()` seconds later on the world's clock (when the answer is back)."""

    def __init__(self, world: World, latency: Callable[[], float]):
        self._world, self._latency = world, latency

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()
        try:
            result, error = fn(*args, **kwargs), None
        except Exception as raised:  # noqa: BLE001 - a thread pool hands any exception to the future
            result, error = None, raised
        self._world.at(self._world.now + self._latency(), lambda: _finish(future, result, error))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to stop: an answer still on its way lands in a future nobody reads."""


def _finish(future: Future, result: Any, error: BaseException | None) -> None:
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class Quota:
    """One account's PutEvents quota on the world's clock: requests/s and entries/s, each bucket holding
    `burst_seconds` of its rate. `send` is a `forwarder.publish.publisher.Send` for every instance."""

    def __init__(self, world: World, requests_per_second: float, entries_per_second: float,
                 burst_seconds: float = 1.0):
        self._world = world
        self.burst_seconds = burst_seconds
        self.requests = TokenBucket(requests_per_second, requests_per_second * burst_seconds, self._clock)
        self.entries = TokenBucket(entries_per_second, entries_per_second * burst_seconds, self._clock)
        self.on_bus: Counter[str] = Counter()  # Detail -> copies accepted
        self.sent: list[tuple[float, int, int, int]] = []  # (time, entries, entries accepted, throttled whole)
        self._ids = itertools.count()

    def _clock(self) -> float:
        return self._world.now

    def scale(self, factor: float) -> None:
        """Another producer arrives (factor 0.5) or leaves (2): both rates change from now on."""
        for bucket in (self.requests, self.entries):
            bucket.take(0)  # fill at the old rate up to now
            bucket.rate *= factor
            bucket.capacity = max(1.0, bucket.rate * self.burst_seconds)

    def send(self, entries: list[dict], deadline: float) -> dict:
        if not self.requests.take(1):
            self.sent.append((self._world.now, len(entries), 0, 1))
            raise ClientError(REQUEST_THROTTLED, "PutEvents")
        allowed = self.entries.take(len(entries))
        self.sent.append((self._world.now, len(entries), allowed, 0))
        answers = []
        for entry in entries[:allowed]:
            self.on_bus[entry["Detail"]] += 1
            answers.append({"EventId": f"e{next(self._ids)}"})
        answers += [dict(THROTTLED_ENTRY) for _ in entries[allowed:]]
        return {"FailedEntryCount": len(entries) - allowed, "Entries": answers}
