"""Entries -> outcomes: the module that decides what is sent to EventBridge, and when.

Requests go out concurrently through one `send` (the handler's wire path, or a botocore client). Only
entries that EventBridge answered with a retryable code (or whose request failed in a way worth retrying)
are sent again, without the confirmed ones, after a jittered backoff; a confirmed entry is never sent
twice. Entries of one group (an SQS FIFO message group) are sent one after another, and when one fails
for good the rest of its group is not sent at all, so order is never broken. All waiting ends at the
deadline: what is unconfirmed by then is reported, even when the endpoint hangs.

Whatever `send` returns or raises, each item gets exactly one outcome, fixed when publish returns, and
publish never raises because of what a peer sent. Items can also arrive late (`Pending`: a claim check's
upload), so that one slow item holds back nothing but its own FIFO group, under the same loop and deadline.

The parts: `retry_policy` (what is retried, for how long), `scheduler` (queues and the loop), `lanes`
(FIFO groups), `answers` (reading a peer's answer), `settlement` and `ledger` (what each answer means for
each item, and the books), `runtime` (the clock, sleep and executor, injected together), `concurrency` (how
many requests are in flight: fixed, or adaptive to throttling and kept across calls of one publisher, with
`pacing`'s send rate below one in flight).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from forwarder.core.items import Entry, Pending, Rejected
from forwarder.core.outcomes import Publication
from forwarder.core.protocols import Quarantine, Send
from forwarder.publish.concurrency import in_flight_limit
from forwarder.publish.ledger import Ledger
from forwarder.publish.options import PublishOptions
from forwarder.publish.retry_policy import RetryPolicy
from forwarder.publish.runtime import Runtime
from forwarder.publish.scheduler import Scheduler
from forwarder.publish.settlement import Settlement

if TYPE_CHECKING:
    from threading import Event

class Publisher:
    """Sends entries through `send` (normally `client.put_events` with Entries=...)."""

    def __init__(self, send: Send, options: PublishOptions, clock: Callable[[], float] | None = None,
                 runtime: Runtime | None = None):
        """`runtime` (default: real time and threads) gives the clock, sleep and executor; `clock`, if
        given, replaces its clock."""
        runtime = runtime or Runtime()
        self._send = send
        self._options = options
        self._runtime = runtime if clock is None else dataclasses.replace(runtime, clock=clock)
        # One limit for every call: what throttling taught it carries over to the next invocation.
        self.limit = in_flight_limit(options.concurrency_mode, options.max_concurrency, self._runtime.clock)

    @property
    def options(self) -> PublishOptions:
        return self._options

    def renew_after_restore(self) -> None:
        """Reseed the jitter RNG from the operating system: copies resumed from one SnapStart snapshot
        would otherwise all draw the same backoffs (forwarder.function.snapstart)."""
        self._options.rng.seed()

    def publish(
        self,
        items: Sequence[Entry | Rejected | Pending],
        deadline: float | None = None,
        quarantine: Quarantine | None = None,
        stop: Event | None = None,
    ) -> Publication:
        """Return one outcome per item, in order; `deadline` is on the runtime clock's time line.

        With `quarantine`, an item that failed with a code of `RetryPolicy.poison_codes` is handed to it, and
        counts as settled (its group goes on) once that returns before the deadline; one still
        running then is reported, as it may or may not land. A `Pending` item is sent once its
        future resolves; until then only its group waits. Once `stop` is set (from a signal handler, say),
        nothing more is sent, what is in flight has a short grace to answer, and what is left open is
        reported as STOPPED, its message saying whether it may have reached the bus.
        """
        items, options = list(items), self._options
        deadline = math.inf if deadline is None else deadline
        policy = RetryPolicy(max_attempts=options.max_attempts)
        scheduler = Scheduler(self._send, items, options, self._runtime, deadline, policy.coalesce_seconds,
                              self.limit, stop)
        ledger = Ledger(items)
        settlement = Settlement(
            items, scheduler, ledger, policy, quarantine, options.max_request_bytes, options.rng, self._runtime.clock
        )
        try:
            settlement.start()
            scheduler.run(settlement)
        finally:
            scheduler.stop()  # without waiting for a hung request: the ledger reports it
        publication = ledger.close(*scheduler.left_open(), stopped=scheduler.stopped)
        publication.throttled, publication.in_flight_limit = scheduler.throttled, self.limit.limit
        return publication
