"""Reported SQS records come back when we choose: their visibility set to a backoff, not the queue's timeout.

A record named in `batchItemFailures` becomes visible again only when the queue's visibility timeout ends
(six times the function timeout: six minutes with the defaults). For SQS batches, `VisibilityBackoff`
sets each reported record's visibility (its `receiptHandle`, one ChangeMessageVisibilityBatch per ten)
to a backoff drawn from its `ApproximateReceiveCount` (`Backoff`): exponential with full jitter, capped.

On a Custom Event Bus the bus drops a repeated DeduplicationId for five minutes from its first
acceptance. An entry accepted in a request whose answer was lost is reported all the same; its record
must come back inside that window, or it is published twice. So there the delay is also bounded by
the window left since the record was first received (ApproximateFirstReceiveTimestamp: no acceptance
can be older) or, once that is gone, since this invocation started (the acceptance that can still be
covered), less WINDOW_SAFETY_SECONDS for clock skew between SQS and the function.

Nothing here changes an outcome: a call that fails (an error, or an entry answered in `Failed`) leaves
that record to the queue's own visibility timeout; it is counted in `VisibilityChange` (the summary line
and metrics) and logged. A record without a receipt handle is skipped and counted. FIFO order is kept
as SQS keeps it: none of a group is handed out while any of it is in flight, so a group comes back when
all its reported messages are visible, in order; they share one draw (`_calls`).

Calls run concurrently (at most `max_concurrency`, the client's pool size) and end by the deadline the
forwarder gives (function/forwarder.py shares the deadline margin between these calls and the report). The SQS
client is made at cold start, from the botocore session the forwarder's other clients share (a few
milliseconds, since the partition and endpoint data are loaded already): made when a batch first reports
records, its making took the visibility calls' share of the margin at a small function's CPU share.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from forwarder.core.outcomes import Outcome
from forwarder.net.clients import bounded_by, close_connections
from forwarder.publish import answers
from forwarder.records.event import SQS
from forwarder.records.record import SourceRecord

ENTRIES_PER_CALL = 10  # ChangeMessageVisibilityBatch's limit
SQS_MAX_VISIBILITY_SECONDS = 43_200  # 12 hours, counted from the receive
WINDOW_SAFETY_SECONDS = 30  # clock skew between SQS's timestamps and the function, and the call itself


@dataclass(frozen=True, slots=True)
class Backoff:
    """The visibility of a reported record: full jitter over min(cap, base * 2 ** (receives - 1)) seconds.

    `window`: on a Custom Event Bus, the deduplication window less the safety margin; None elsewhere.
    """

    base: int
    cap: int
    window: float | None = None

    @classmethod
    def within(cls, base: int, cap: int, dedup_window: float | None) -> Backoff:
        """Every delay also fits in the target's deduplication window, when it has one (module docstring)."""
        return cls(base, cap, None if dedup_window is None else int(dedup_window) - WINDOW_SAFETY_SECONDS)

    def ceiling(self, receives: int) -> int:
        """The longest delay after `receives` receives (1 for a first delivery): grows, then stays at cap."""
        exponent = min(max(receives, 1) - 1, 32)  # 2 ** 32 * base is past any cap
        return min(self.cap, self.base * 2**exponent)

    def delay(self, receives: int, draw: float, elapsed: float, since_first_receive: float | None) -> int:
        """Whole seconds in [0, bound]; `draw` in [0, 1) is the jitter, `elapsed` the invocation's time so far."""
        bound = self.ceiling(receives)
        if self.window is not None:
            # The oldest acceptance to cover: at the first receive while its window lasts (never later than
            # this invocation's start, whatever the clocks say), else at this invocation's start.
            first = since_first_receive
            oldest = elapsed if first is None or first > self.window else max(first, elapsed)
            bound = min(bound, max(0, math.floor(self.window - oldest)))
        return min(bound, math.floor(draw * (bound + 1)))


@dataclass(slots=True)
class VisibilityChange:
    """What one invocation's visibility calls did, for the summary line and the metrics."""

    changed: int = 0
    failed: int = 0  # the call failed or the entry was answered in Failed: the queue's timeout applies
    skipped: int = 0  # no receipt handle (or no queue ARN) to change it with
    errors: Counter[str] = field(default_factory=Counter)  # failed records by error code

    def add(self, other: VisibilityChange) -> None:
        self.changed += other.changed
        self.failed += other.failed
        self.skipped += other.skipped
        self.errors.update(other.errors)


# One call: the queue's ACCOUNT/NAME and (receipt handle, seconds) of at most ten records.
Call = tuple[str, list[tuple[str, int]]]


class VisibilityBackoff:
    def __init__(
        self,
        sqs: Any,
        backoff: Backoff,
        max_concurrency: int,
        draw: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
    ):
        self._backoff = backoff
        self._workers = max_concurrency
        self._draw = draw
        self._wall_clock = wall_clock
        self._executor: ThreadPoolExecutor | None = None
        # A client, or what makes one (forwarder.build_forwarder): then it is made when a record is first
        # reported, on this thread, so that a stream function, or a batch with nothing to redeliver, never
        # pays its cold-start cost (about a fifth of build_forwarder's).
        self._sqs = sqs if not callable(sqs) else None
        self._make_sqs = sqs if callable(sqs) else None

    def change(
        self, source: str, records: Sequence[SourceRecord], outcomes: Sequence[Outcome], deadline: float,
        started: float,
    ) -> VisibilityChange | None:
        """Set the visibility of the records reported for redelivery; None for a source that is not SQS."""
        if source != SQS:
            return None
        calls, result = self._calls(records, outcomes, elapsed=time.monotonic() - started)
        if not calls:
            return result
        if self._sqs is None:
            try:
                self._sqs = self._make_sqs()
            except Exception as error:  # noqa: BLE001 - as a failed call: the records keep the queue's own timeout
                failed = sum(len(handles) for _, handles in calls)
                result.add(VisibilityChange(failed=failed, errors=Counter({_error_code(error): failed})))
                return result
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="visibility")
        # In waves of as many calls as the pool runs at once: once the deadline has passed, the rest are
        # counted in one go rather than handed to the pool one by one (at a small CPU share, a thousand
        # hand-offs of calls that can only give up cost more than the margin left).
        for start in range(0, len(calls), self._workers):
            if time.monotonic() >= deadline:
                late = sum(len(handles) for _, handles in calls[start:])
                result.add(VisibilityChange(failed=late, errors=Counter({"DeadlineReached": late})))
                break
            for sent in self._executor.map(lambda call: self._send(call, deadline), calls[start:start + self._workers]):
                result.add(sent)
        return result

    def close_connections(self) -> None:
        if self._sqs is not None:
            close_connections(self._sqs)

    def _calls(
        self, records: Sequence[SourceRecord], outcomes: Sequence[Outcome], elapsed: float
    ) -> tuple[list[Call], VisibilityChange]:
        """The reported records, once each, in batch order, ten to a call per queue.

        The records of one FIFO group share one draw: SQS hands out none of a group while any of it is in
        flight, so the group comes back when its longest delay ends; drawn apart, that would be the largest
        of several draws, near the ceiling, rather than one."""
        by_queue: dict[str, list[tuple[str, int]]] = {}
        skipped, seen, group_draws = 0, set(), {}
        for record, outcome in zip(records, outcomes, strict=True):
            if outcome.settled or record.item_id in seen:
                continue
            seen.add(record.item_id)
            raw = record.raw or {}
            handle, queue = raw.get("receiptHandle"), _queue_path(raw.get("eventSourceARN"))
            if not isinstance(handle, str) or not handle or queue is None:
                skipped += 1
                continue
            draw = self._draw()
            if record.group is not None:  # the group's first reported record drew for all of it
                draw = group_draws.setdefault((queue, record.group), draw)
            by_queue.setdefault(queue, []).append((handle, self._delay(raw, elapsed, draw)))
        calls = [(queue, handles[start:start + ENTRIES_PER_CALL])
                 for queue, handles in by_queue.items() for start in range(0, len(handles), ENTRIES_PER_CALL)]
        return calls, VisibilityChange(skipped=skipped)

    def _delay(self, raw: dict, elapsed: float, draw: float) -> int:
        attributes = raw.get("attributes") if isinstance(raw.get("attributes"), dict) else {}
        first = _number(attributes.get("ApproximateFirstReceiveTimestamp"))
        since_first = None if first is None else self._wall_clock() - first / 1000
        receives = int(_number(attributes.get("ApproximateReceiveCount")) or 1)
        return self._backoff.delay(receives, draw, elapsed, since_first)

    def _send(self, call: Call, deadline: float) -> VisibilityChange:
        queue, handles = call
        entries = [{"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                   for index, (handle, seconds) in enumerate(handles)]
        try:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("DeadlineReached")
            client = self._sqs
            url = f"{client.meta.endpoint_url.rstrip('/')}/{queue}"  # the source is in the function's region
            with bounded_by(deadline):
                answer = client.change_message_visibility_batch(QueueUrl=url, Entries=entries)
        except Exception as error:  # noqa: BLE001 - any failure leaves the record to the queue's own timeout
            return VisibilityChange(failed=len(handles), errors=Counter({_error_code(error): len(handles)}))
        return _answered(entries, answer)


class NoVisibility:
    """Visibility backoff off: reported records come back when the queue's visibility timeout ends."""

    def change(self, *args: Any) -> None:
        return None

    def close_connections(self) -> None:
        return None


def _answered(entries: list[dict], answer: Any) -> VisibilityChange:
    """What SQS answered, read without trusting it: an entry is changed only when its Id is in `Successful`
    (and not also in `Failed`); every other one sent failed, with the code `Failed` gave it, if any."""
    codes = {entry["Id"]: _code(entry.get("Code") or "Failed") for entry in _listed(answer, "Failed")}
    succeeded = {entry["Id"] for entry in _listed(answer, "Successful")} - codes.keys()
    errors = Counter(codes.get(entry["Id"], "NotAnswered") for entry in entries if entry["Id"] not in succeeded)
    failed = sum(errors.values())
    return VisibilityChange(changed=len(entries) - failed, failed=failed, errors=errors)


def _listed(answer: Any, key: str) -> list[dict]:
    found = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(found, list):
        return []
    return [entry for entry in found if isinstance(entry, dict) and isinstance(entry.get("Id"), str)]


def _queue_path(arn: Any) -> str | None:
    """arn:aws:sqs:REGION:ACCOUNT:NAME -> ACCOUNT/NAME, the queue URL's path."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) != 6 or parts[2] != "sqs" or not parts[4] or not parts[5]:
        return None
    return f"{parts[4]}/{parts[5]}"


def _error_code(error: Exception) -> str:
    if isinstance(error, TimeoutError):
        return "DeadlineReached"  # before the call could start, or while the client was still being made
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return _code(code or type(error).__name__)


def _code(value: Any) -> str:
    """A code SQS (or whoever answered) gave, as it goes into the log line's counts: text, bounded."""
    return answers.bounded(value if isinstance(value, str) else answers.brief(value), answers.MAX_PEER_CODE)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None
