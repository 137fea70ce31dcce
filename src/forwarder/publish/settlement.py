"""What each answer means for its items: confirmed, sent again after a backoff, moved aside, or reported.

For one publish call, the `AnswerReader` reads every finished request the scheduler hands back (through
`answers`, which trusts nothing of its shape) and asks the retry policy what follows for each entry; the
`Settlement` admits items, settles them in the ledger, and sends poison to the quarantine. Whatever `send`
returned or raised, each item gets exactly one outcome.
"""

from __future__ import annotations

import random
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ParamValidationError
from botocore.parsers import ResponseParserError

from forwarder.core.codes import DEADLINE_EXCEEDED, ENTRY_TOO_LARGE, MALFORMED_RESPONSE, REQUEST_FAILED
from forwarder.core.items import Entry, Filtered, Pending, Rejected
from forwarder.publish import answers
from forwarder.publish.batching import fits_alone
from forwarder.publish.ledger import Ledger
from forwarder.publish.retry_policy import RetryPolicy
from forwarder.publish.scheduler import NOT_SENT, Scheduler

if TYPE_CHECKING:
    from collections.abc import Callable

    from forwarder.core.protocols import Quarantine


class Settlement:
    """Items in and out: admitted to the scheduler, then settled in the ledger or moved aside."""

    def __init__(self, items: list[Any], scheduler: Scheduler, ledger: Ledger, policy: RetryPolicy,
                 quarantine: Quarantine | None, max_bytes: int, rng: random.Random, clock: Callable[[], float]):
        self._items, self._scheduler, self._ledger = items, scheduler, ledger
        self._policy, self._quarantine, self._max_bytes = policy, quarantine, max_bytes
        self._reader = AnswerReader(self, scheduler, ledger, policy, rng, clock)

    def start(self) -> None:
        max_bytes, usual = self._max_bytes, []
        for index, item in enumerate(self._items):
            if item.group is None:
                if type(item) is Entry and fits_alone(item.size, max_bytes):
                    usual.append(index)  # what `_admit` does for it, without its tests of every other kind
                else:
                    self._scheduler.ready_all(usual)  # first, as `_admit` may make this one ready
                    usual = []
                    self._admit(index)
        self._scheduler.ready_all(usual)
        for index in self._ledger.first_of_groups():
            self._admit(index)

    def _admit(self, index: int) -> None:
        """Make an item eligible to be sent, or settle it at once if it can never be."""
        item = self._items[index]
        if isinstance(item, Filtered):
            return  # settled by the ledger from the start
        if isinstance(item, Pending):
            self._scheduler.prepare(item.future, index)  # admitted again when it resolves
        elif isinstance(item, Rejected):
            self.fail(index, item.code, item.message)
        elif not fits_alone(item.size, self._max_bytes):
            self.fail(index, ENTRY_TOO_LARGE, f"entry is {item.size} bytes; requests must stay below {self._max_bytes}")
        else:
            self._scheduler.ready(index)

    def admit_next(self, index: int | None) -> None:
        """Admit the next item of a group (from the ledger), if there is one."""
        if index is not None:
            self._admit(index)

    def answered(self, indices: list[int], future: Future) -> None:
        self._reader.answered(indices, future)

    def prepared(self, index: int, future: Future) -> None:
        pending = self._items[index]
        try:
            item = future.result()
        except BaseException as error:  # noqa: BLE001 - raised on a pool thread: that item failed, nothing more
            item = Rejected(pending.code, f"{pending.task} failed: {type(error).__name__}", pending.group)
        if not isinstance(item, (Entry, Rejected)):
            item = Rejected(pending.code, f"{pending.task} failed: it gave no entry", pending.group)
        self._items[index] = item
        self._admit(index)

    def several_buses(self, indices: list[int]) -> bool:
        """Whether these entries name more than one bus (a refusal that names a bus may then be one entry's)."""
        return len({self._items[index].fields.get("EventBusName") for index in indices}) > 1

    def fail(self, index: int, code: str, message: str) -> None:
        """Failed for good: moved aside if it is poison and there is a quarantine, else reported."""
        if self._quarantine is not None and self._policy.is_poison(code):
            self._ledger.note(index, code, message)
            self._scheduler.quarantine(self._quarantine, index, code, message)
            return
        self._ledger.report(index, code, message)

    def quarantined(self, index: int, future: Future) -> None:
        try:
            future.result()
        except BaseException as error:  # noqa: BLE001 - whatever went wrong, the record is reported instead
            outcome = self._ledger.outcomes[index]
            message = f"{outcome.error_message} (quarantine failed: {answers.describe(error)})"
            self._ledger.report(index, outcome.error_code, message)
            return
        self.admit_next(self._ledger.quarantined(index))


class AnswerReader:
    """Each request's answer, read entry by entry: confirmed, sent again after a backoff, or failed for good."""

    def __init__(self, settlement: Settlement, scheduler: Scheduler, ledger: Ledger, policy: RetryPolicy,
                 rng: random.Random, clock: Callable[[], float]):
        self._settlement, self._scheduler, self._ledger = settlement, scheduler, ledger
        self._policy, self._rng, self._clock = policy, rng, clock
        self._jitter = 0.0  # the fraction of its backoff a retried entry waits (drawn per answer)

    def answered(self, indices: list[int], future: Future) -> None:
        # One jitter draw per answer: the entries it sends back wait alike and go out together again, as
        # one request retried whole would; each entry's wait is still uniform over its own backoff.
        self._jitter = self._rng.uniform(0.0, 1.0)
        try:
            response = future.result()
        except ParamValidationError as error:  # refused before sending: no retry can help
            for index in indices:
                self._settlement.fail(index, "ParamValidationError", answers.describe(error))
            return
        except ClientError as error:
            self._request_failed(indices, error)
            return
        except BaseException as error:  # noqa: BLE001 - whatever a send raised on its pool thread, its request failed
            self._unanswered(indices, error)
            return
        if response is NOT_SENT:
            for index in indices:
                self._settlement.fail(index, DEADLINE_EXCEEDED, "not sent: the invocation's deadline came first")
            return
        self._read(indices, response)

    def _read(self, indices: list[int], response: Any) -> None:
        # Attempts are counted when a request is answered: a request split unanswered is no attempt.
        self._ledger.requests += 1
        self._ledger.count_attempts(indices)
        results = answers.results(response, len(indices))
        if results is None:
            message = f"the answer is not PutEvents': {answers.brief(response)}"
            for index in indices:
                self._retry_or_fail(index, MALFORMED_RESPONSE, message)
            return
        confirm, admit_next = self._ledger.confirm, self._settlement.admit_next
        for index, result in zip(indices, results, strict=True):
            # The usual result, {"EventId": "..."} and nothing else, confirmed without reading it field by field
            # (once per entry): what `_entry_answered` makes of it (tests/unit/test_answer_reading.py).
            event_id = result.get("EventId") if type(result) is dict and len(result) == 1 else None
            if type(event_id) is str and event_id:
                following = confirm(index, event_id, None)
                if following is not None:
                    admit_next(following)
            else:
                self._entry_answered(index, result)

    def _entry_answered(self, index: int, result: Any) -> None:
        fields = answers.result_fields(result)
        if fields is None:
            self._retry_or_fail(index, MALFORMED_RESPONSE, f"its result is not PutEvents': {answers.brief(result)}")
            return
        code, event_id, success_code = fields
        if (event_id or success_code) and not code:
            following = self._ledger.confirm(index, event_id or None, success_code or None)
            if following is not None:
                self._settlement.admit_next(following)
        elif self._policy.entry_retryable(code):
            self._retry_or_fail(index, code or "MissingResult", answers.text(result.get("ErrorMessage")) or "no result")
        else:
            self._settlement.fail(index, code, answers.text(result.get("ErrorMessage")))

    def _unanswered(self, indices: list[int], error: BaseException) -> None:
        """A connection reset, a timeout, an answer botocore could not parse, or any other exception: the
        request may or may not have landed, so its entries are worth another try."""
        self._ledger.requests += 1
        self._ledger.count_attempts(indices)
        code = MALFORMED_RESPONSE if isinstance(error, ResponseParserError) else REQUEST_FAILED
        message = answers.describe(error)
        for index in indices:
            self._retry_or_fail(index, code, message)

    def _request_failed(self, indices: list[int], error: ClientError) -> None:
        self._ledger.requests += 1
        code, status, message = answers.error_fields(error)
        refused_whole = self._policy.refused_whole(code, status, self._settlement.several_buses(indices))
        if refused_whole and len(indices) > 1:
            self._scheduler.split(indices)  # no attempt for its entries: the service took none of them
            return
        self._ledger.count_attempts(indices)
        if refused_whole:
            code, message = self._policy.refused_alone(code, status, message)
        retryable = self._policy.request_retryable(code, status)
        for index in indices:
            if retryable:
                self._retry_or_fail(index, code, message)
            else:
                self._settlement.fail(index, code, message)

    def _retry_or_fail(self, index: int, code: str, message: str) -> None:
        self._ledger.note(index, code, message)
        attempts = self._ledger.outcomes[index].attempts
        if attempts >= self._policy.max_attempts:
            self._settlement.fail(index, code, f"{message} (gave up after {attempts} attempts)")
            return
        now = self._clock()
        if now >= self._scheduler.deadline:  # the request ended with the deadline (net/connections.py cuts it there)
            message = f"not confirmed before the invocation's deadline (last error: {code})"
            self._settlement.fail(index, DEADLINE_EXCEEDED, message)
            return
        not_before = now + self._policy.backoff(attempts, self._jitter)
        if not_before >= self._scheduler.deadline:
            self._settlement.fail(index, code, f"{message} (no time left to retry)")
            return
        self._scheduler.later(index, not_before)
