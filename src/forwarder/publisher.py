"""Entries -> outcomes: the module that decides what is sent to EventBridge, and when.

Requests go out concurrently from a per-call thread pool through one `send` (the handler's wire
path, or a botocore client). Only entries that EventBridge answered with a retryable code (or
whose request failed in a way worth retrying) are sent again, without the confirmed ones, after a
jittered backoff; a confirmed entry is never sent twice. Entries of one group (an SQS FIFO
message group) are sent one after another, and when one fails for good the rest of its group is
not sent at all, so order is never broken.
All waiting ends at the deadline: what is unconfirmed by then is reported, even when the
endpoint hangs, because the caller stops waiting instead of trusting socket timeouts.

Whatever `send` returns or raises, each item gets exactly one outcome, fixed when publish returns:
an answer that is not PutEvents' shape, or an exception of any type, fails its request (retryable:
the service may have accepted it), and publish never raises because of what a peer sent. Items can
also arrive late (`Pending`: a claim check's upload), so that one slow item holds back nothing but
its own FIFO group, under the same loop and deadline.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError
from botocore.parsers import ResponseParserError

from forwarder.batching import fits_alone, pack
from forwarder.entries import INVALID_RECORD, Entry, Rejected
from forwarder.limits import MAX_ENTRIES_PER_REQUEST
from forwarder.outcomes import Outcome, Publication

# InternalFailure is the classic API's name, InternalException the Custom Event Bus's.
RETRYABLE_ENTRY_CODES = frozenset({"InternalFailure", "InternalException", "ThrottlingException"})
# Request-level failures worth another try: what botocore's standard retry mode retries (its transient and
# throttling codes, 5xx and 429), whether botocore already tried (its clients) or not (the wire path).
RETRYABLE_REQUEST_CODES = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "InternalException", "InternalFailure", "ServiceUnavailable",
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
})
RETRYABLE_STATUS = 429  # besides every 5xx
BACKOFF_BASE_SECONDS = 0.05
# Retries whose backoff ends within this much of the first one's go out with it, so that retries from
# different requests share requests too (the soak: a third fewer requests at 20 % entry failures).
COALESCE_SECONDS = 0.02
BACKOFF_CAP_SECONDS = 2.0

# Codes of our own, for records that never got an answer from EventBridge.
ENTRY_TOO_LARGE = "EntryTooLarge"
DEADLINE_EXCEEDED = "DeadlineExceeded"
GROUP_BLOCKED = "GroupBlocked"
# An answer that cannot be read (not PutEvents' shape, or results that cannot be matched to the entries):
# the service may or may not have taken the entries, so they are retried like a failed request.
MALFORMED_RESPONSE = "MalformedResponse"
REQUEST_FAILED = "RequestFailed"
REQUEST_TOO_LARGE = 413
# Request-level refusals that speak of the entries' content: split like a 413 until the entry at fault
# is alone. Refusals that speak of the setup (AccessDeniedException, UnrecognizedClientException,
# InvalidSignatureException, ExpiredTokenException, ResourceNotFoundException for the bus) refuse every
# request alike: splitting would turn one refused request into 2n - 1 and change nothing.
CONTENT_REQUEST_CODES = frozenset({"ValidationException", "SerializationException"})
# An entry refused alone with a CONTENT_REQUEST_CODES code: EventBridge's own per-entry code for an entry it
# will never take, so that the quarantine takes it as poison. (Settings and entries.py check what is
# common to all entries, the bus name and endpoint id, so a lone refusal speaks of that one record.)
REFUSED_ALONE = "InvalidArgument"

# Failures that belong to the record itself and will recur on every delivery: such a record may be
# quarantined. Codes that speak of the setup (AccessDeniedException, NotAuthorizedFor...,
# InvalidAccountIdException) are left out on purpose: they would sweep healthy records aside.
POISON_CODES = frozenset({"MalformedDetail", "InvalidArgument", "RedactionFailure", ENTRY_TOO_LARGE, INVALID_RECORD})

# `send(entries, deadline)` -> the PutEvents response. `deadline` is on time.monotonic()'s time line (math.inf
# for none): a sender must not let its request run past it.
Send = Callable[[list[dict], float], Any]
# `quarantine(index, code, message, deadline)` moves item `index` aside; raises if it could not. Like a send,
# it must not run past `deadline`, so that whether the record was moved aside is known when publish returns.
Quarantine = Callable[[int, str, str, float], None]
# `_call`'s answer when the deadline came before its request could start: nothing was sent. (A sentinel,
# as a send may return any value, None included.)
_NOT_SENT = object()


@dataclass(slots=True)
class Pending:
    """An item still being prepared (a claim check's upload), admitted when `future` resolves.

    `future` gives the Entry or Rejected to publish; if it raises, or the deadline comes first, the item
    fails with `code`, and the message says that `task` failed or did not finish.
    """

    future: Future
    group: str | None
    code: str
    task: str


@dataclass(slots=True)
class PublishOptions:
    max_request_bytes: int
    max_concurrency: int
    max_attempts: int
    max_entries: int = MAX_ENTRIES_PER_REQUEST
    rng: random.Random = field(default_factory=random.Random)


class Publisher:
    """Sends entries through `send` (normally `client.put_events` with Entries=...)."""

    def __init__(self, send: Send, options: PublishOptions, clock: Callable[[], float] = time.monotonic):
        self._send = send
        self._options = options
        self._clock = clock

    def publish(
        self,
        items: Sequence[Entry | Rejected | Pending],
        deadline: float | None = None,
        quarantine: Quarantine | None = None,
    ) -> Publication:
        """Return one outcome per item, in order; `deadline` is on the `clock`'s time line.

        With `quarantine`, an item that failed with a POISON_CODES code is handed to it, and
        counts as settled (its group goes on) once that returns before the deadline; one still
        running then is reported, as it may or may not land. A `Pending` item is sent once its
        future resolves; until then only its group waits.
        """
        run = _Run(self, list(items), float("inf") if deadline is None else deadline, quarantine)
        return run.execute()


class _Run:
    """The state of one publish call; nothing of it outlives the call."""

    def __init__(
        self,
        publisher: Publisher,
        items: list[Entry | Rejected | Pending],
        deadline: float,
        quarantine: Quarantine | None,
    ):
        self.send, self.options, self.clock = publisher._send, publisher._options, publisher._clock
        self.items = items
        self.deadline = deadline
        self.quarantine = quarantine
        self.outcomes = [Outcome() for _ in items]
        self.done = [False] * len(items)
        self.ready: list[int] = []
        self.delayed: list[tuple[float, int]] = []  # heap of (not before, index)
        self.lanes: dict[str, deque[int]] = {}
        self.queued: deque[list[int]] = deque()  # packed requests waiting for a free slot
        self.in_flight: dict[Future, list[int]] = {}  # PutEvents requests, at most max_concurrency
        self.quarantining: dict[Future, int] = {}
        self.preparing: dict[Future, int] = {}  # Pending items whose future has not resolved yet
        self.requests = 0
        self.retries = 0
        self.jitter = 0.0  # the fraction of its backoff a retried entry waits (drawn per answer)
        self.pool = ThreadPoolExecutor(max_workers=self.options.max_concurrency, thread_name_prefix="put-events")

    def execute(self) -> Publication:
        try:
            self._admit_all()
            self._loop()
        finally:
            # Do not wait for a hung request: its entries are reported as unconfirmed below.
            self.pool.shutdown(wait=False, cancel_futures=True)
        self._close()
        return Publication(self.outcomes, self.requests, self.retries)

    def _close(self) -> None:
        """The deadline came: settle what is still open, once and for good. Nothing changes an outcome after
        this (a late answer or quarantine lands in a future nobody reads), so what publish returns stands."""
        for future, indices in self.in_flight.items():
            if _may_have_been_sent(future):  # it may land: an attempt, as a request that failed is
                self._count_attempts(indices)
        for index in self.preparing.values():
            pending = self.items[index]
            self._report(index, pending.code, f"{pending.task} did not finish before the invocation's deadline")
        for index in self.quarantining.values():
            # It may still land in the quarantine queue: reported, the worst is a duplicate, never a loss.
            outcome = self.outcomes[index]
            reason = "the quarantine queue did not confirm it before the invocation's deadline (it failed with "
            self._report(index, DEADLINE_EXCEEDED, f"{reason}{outcome.error_code}: {outcome.error_message})")
        for index, finished in enumerate(self.done):
            if not finished:
                last = self.outcomes[index].error_code
                note = f" (last error: {last})" if last else ""
                self._report(index, DEADLINE_EXCEEDED, f"not confirmed before the invocation's deadline{note}")

    # -- scheduling ---------------------------------------------------------------------------

    def _admit_all(self) -> None:
        for index, item in enumerate(self.items):
            if item.group is None:
                self._admit(index)
            else:
                self.lanes.setdefault(item.group, deque()).append(index)
        for lane in self.lanes.values():
            self._admit(lane.popleft())

    def _admit(self, index: int) -> None:
        """Make an item eligible to be sent, or settle it at once if it can never be."""
        item = self.items[index]
        if isinstance(item, Pending):
            self.preparing[item.future] = index  # admitted again when it resolves
        elif isinstance(item, Rejected):
            self._fail(index, item.code, item.message)
        elif not fits_alone(item.size, self.options.max_request_bytes):
            limit = self.options.max_request_bytes
            self._fail(index, ENTRY_TOO_LARGE, f"entry is {item.size} bytes; requests must stay below {limit}")
        else:
            self.ready.append(index)

    def _loop(self) -> None:
        while True:
            now = self.clock()
            if now >= self.deadline:
                return
            self._release_delayed(now)
            self._dispatch()
            pending = [*self.in_flight, *self.quarantining, *self.preparing]
            if not (pending or self.delayed or self.queued):
                return
            wake = min(self.deadline, self.delayed[0][0]) if self.delayed else self.deadline
            timeout = None if wake == float("inf") else max(0.0, wake - now)
            if not pending:
                time.sleep(timeout or 0.0)  # only backoffs are pending
                continue
            finished, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in finished:
                if future in self.in_flight:
                    self._settle(self.in_flight.pop(future), future)
                elif future in self.quarantining:
                    self._quarantine_done(self.quarantining.pop(future), future)
                else:
                    self._prepared(self.preparing.pop(future), future)

    def _release_delayed(self, now: float) -> None:
        while self.delayed and self.delayed[0][0] <= now + COALESCE_SECONDS:
            self.ready.append(heapq.heappop(self.delayed)[1])

    def _dispatch(self) -> None:
        if self.ready:
            sizes = [(index, self.items[index].size) for index in self.ready]
            self.ready = []
            self.queued.extend(pack(sizes, self.options.max_request_bytes, self.options.max_entries))
        # Only as many requests in the pool as it has threads: waiting stays cheap, and what the
        # deadline cuts off was never started, so it is reported without any doubt about it.
        while self.queued and len(self.in_flight) < self.options.max_concurrency:
            self._submit(self.queued.popleft())

    def _submit(self, indices: list[int]) -> None:
        # Attempts are counted when the request is settled: a request split unanswered is no attempt.
        fields = [self.items[index].fields for index in indices]
        self.in_flight[self.pool.submit(self._call, fields)] = indices

    def _call(self, fields: list[dict]) -> Any:
        """Runs on a pool thread. _NOT_SENT means the deadline passed before the request could start."""
        if self.clock() >= self.deadline:
            return _NOT_SENT
        return self.send(fields, self.deadline)

    def _prepared(self, index: int, future: Future) -> None:
        pending = self.items[index]
        try:
            item = future.result()
        except BaseException as error:  # noqa: BLE001 - raised on a pool thread: that item failed, nothing more
            item = Rejected(pending.code, f"{pending.task} failed: {type(error).__name__}", pending.group)
        if not isinstance(item, (Entry, Rejected)):
            item = Rejected(pending.code, f"{pending.task} failed: it gave no entry", pending.group)
        self.items[index] = item
        self._admit(index)

    # -- results ------------------------------------------------------------------------------

    def _settle(self, indices: list[int], future: Future) -> None:
        # One jitter draw per answer: the entries it sends back wait alike and go out together again, as
        # one request retried whole would; each entry's wait is still uniform over its own backoff.
        self.jitter = self.options.rng.uniform(0.0, 1.0)
        try:
            response = future.result()
        except ParamValidationError as error:  # refused before sending: no retry can help
            for index in indices:
                self._fail(index, "ParamValidationError", _describe(error))
            return
        except ClientError as error:
            self.requests += 1
            self._request_failed(indices, error)
            return
        except BaseException as error:  # noqa: BLE001 - whatever a send raised on its pool thread, its request failed
            self.requests += 1
            self._unanswered(indices, error)
            return
        if response is _NOT_SENT:
            for index in indices:
                self._fail(index, DEADLINE_EXCEEDED, "not sent: the invocation's deadline came first")
            return
        self.requests += 1
        self._count_attempts(indices)
        results = _results(response, len(indices))
        if results is None:
            for index in indices:
                self._retry_or_fail(index, MALFORMED_RESPONSE, f"the answer is not PutEvents': {_brief(response)}")
            return
        for index, result in zip(indices, results, strict=True):
            self._entry_answered(index, result)

    def _unanswered(self, indices: list[int], error: BaseException) -> None:
        """A connection reset, a timeout, an answer botocore could not parse, or any other exception: the
        request may or may not have landed, so its entries are worth another try."""
        self._count_attempts(indices)
        code = MALFORMED_RESPONSE if isinstance(error, ResponseParserError) else REQUEST_FAILED
        for index in indices:
            self._retry_or_fail(index, code, _describe(error))

    def _count_attempts(self, indices: list[int]) -> None:
        for index in indices:
            self.outcomes[index].attempts += 1
            self.retries += self.outcomes[index].attempts > 1

    def _entry_answered(self, index: int, result: Any) -> None:
        keys = ("ErrorCode", "EventId", "SuccessCode")
        fields = [result.get(key) for key in keys] if isinstance(result, dict) else [0]
        if not all(value is None or isinstance(value, str) for value in fields):
            self._retry_or_fail(index, MALFORMED_RESPONSE, f"its result is not PutEvents': {_brief(result)}")
            return
        code, event_id, success_code = fields
        if (event_id or success_code) and not code:
            self.outcomes[index].event_id = event_id or None
            self.outcomes[index].success_code = success_code or None
            self._finish(index)
            self._advance_lane(index)
        elif code in RETRYABLE_ENTRY_CODES or not code:
            # No code and no EventId breaks the API's contract: treat it as worth another try.
            self._retry_or_fail(index, code or "MissingResult", _text(result.get("ErrorMessage")) or "no result")
        else:
            self._fail(index, code, _text(result.get("ErrorMessage")))

    def _request_failed(self, indices: list[int], error: ClientError) -> None:
        code, status, message = _error_fields(error)
        refused_whole = status == REQUEST_TOO_LARGE or (400 <= status < 500 and code in CONTENT_REQUEST_CODES)
        if refused_whole and len(indices) > 1:
            self._split(indices)
            return
        self._count_attempts(indices)
        if refused_whole:
            # Alone in its request: the entry itself is what the service refuses, on every delivery.
            code, message = self._refused_alone(code, status, message)
        retryable = code in RETRYABLE_REQUEST_CODES or status >= 500 or status == RETRYABLE_STATUS
        for index in indices:
            if retryable:
                self._retry_or_fail(index, code, message)
            else:
                self._fail(index, code, message)

    @staticmethod
    def _refused_alone(code: str, status: int, message: str) -> tuple[str, str]:
        if status == REQUEST_TOO_LARGE:  # the service counts it larger than we did
            return ENTRY_TOO_LARGE, "a request of this entry alone was refused as too large (HTTP 413)"
        return REFUSED_ALONE, f"{code}: {message} (the service refused a request of this entry alone)"

    def _split(self, indices: list[int]) -> None:
        """Halve a request the service refused whole for its content: no attempt for its entries, as the
        service took none of them; halving isolates the entry at fault in log2(n) rounds."""
        middle = len(indices) // 2
        # First in line, and as they are: packing them again would rebuild the refused request.
        self.queued.extendleft([indices[middle:], indices[:middle]])

    def _retry_or_fail(self, index: int, code: str, message: str) -> None:
        outcome = self.outcomes[index]
        outcome.error_code, outcome.error_message = code, message
        if outcome.attempts >= self.options.max_attempts:
            self._fail(index, code, f"{message} (gave up after {outcome.attempts} attempts)")
            return
        now = self.clock()
        if now >= self.deadline:  # the request ended with the deadline (connections.py cuts it there)
            self._fail(index, DEADLINE_EXCEEDED, f"not confirmed before the invocation's deadline (last error: {code})")
            return
        cap = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (outcome.attempts - 1))
        not_before = now + self.jitter * cap  # full jitter
        if not_before >= self.deadline:
            self._fail(index, code, f"{message} (no time left to retry)")
            return
        heapq.heappush(self.delayed, (not_before, index))

    def _fail(self, index: int, code: str, message: str) -> None:
        """Failed for good: moved aside if it is poison and there is a quarantine, else reported."""
        if self.quarantine is not None and code in POISON_CODES:
            outcome = self.outcomes[index]
            outcome.error_code, outcome.error_message = code, message
            self.quarantining[self.pool.submit(self.quarantine, index, code, message, self.deadline)] = index
            return
        self._report(index, code, message)

    def _report(self, index: int, code: str, message: str) -> None:
        """Settle the item as handed back to the source; the rest of its group with it."""
        outcome = self.outcomes[index]
        outcome.event_id, outcome.success_code = None, None
        outcome.error_code, outcome.error_message = code, message
        self._finish(index)
        self._block_lane(index)

    def _quarantine_done(self, index: int, future: Future) -> None:
        outcome = self.outcomes[index]
        try:
            future.result()
        except BaseException as error:  # noqa: BLE001 - whatever went wrong, the record is reported instead
            self._report(index, outcome.error_code, f"{outcome.error_message} (quarantine failed: {_describe(error)})")
            return
        outcome.quarantined = True
        self._finish(index)
        self._advance_lane(index)

    def _block_lane(self, index: int) -> None:
        group = self.items[index].group
        lane = self.lanes.get(group) if group is not None else None
        while lane:
            later = lane.popleft()
            blocked = Outcome(error_code=GROUP_BLOCKED, error_message="an earlier record of its group failed")
            self.outcomes[later] = blocked
            self._finish(later)

    def _finish(self, index: int) -> None:
        self.done[index] = True
        if self.outcomes[index].confirmed:
            self.outcomes[index].error_code = self.outcomes[index].error_message = None

    def _advance_lane(self, index: int) -> None:
        group = self.items[index].group
        lane = self.lanes.get(group) if group is not None else None
        if lane:
            self._admit(lane.popleft())


def _may_have_been_sent(future: Future) -> bool:
    """False only for a request that never reached `send`: cancelled at shutdown, or refused by the deadline."""
    if future.cancelled():
        return False
    return not (future.done() and future.exception() is None and future.result() is _NOT_SENT)


def _results(response: Any, count: int) -> list[Any] | None:
    """The per-entry results of a PutEvents answer, or None when it cannot be read. Results match entries by
    position only, so a list of another length could confirm an entry the service never took."""
    results = response.get("Entries") if isinstance(response, dict) else None
    return results if isinstance(results, list) and len(results) == count else None


def _error_fields(error: ClientError) -> tuple[str, int, str]:
    """Code, HTTP status and message of a ClientError, read without trusting the parsed answer's shape."""
    response = error.response if isinstance(error.response, dict) else {}
    details, metadata = response.get("Error"), response.get("ResponseMetadata")
    details = details if isinstance(details, dict) else {}
    metadata = metadata if isinstance(metadata, dict) else {}
    code, status = details.get("Code"), metadata.get("HTTPStatusCode")
    code = code if isinstance(code, str) and code else "ClientError"
    status = status if isinstance(status, int) else 0
    return code, status, _text(details.get("Message")) or _describe(error)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else _brief(value)


def _brief(value: Any) -> str:
    """A peer's value in a message: short, whatever it is."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _describe(error: BaseException) -> str:
    try:
        return f"{type(error).__name__}: {error}"
    except Exception:  # noqa: BLE001 - an exception whose str() raises still has a name
        return type(error).__name__
