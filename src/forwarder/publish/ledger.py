"""The books of one publish call: each item's outcome, whether it is settled, and the counts.

Settling an item here also moves its FIFO lane on: a record settled for good lets the next of its group
out, a record reported blocks the rest of its group. Once `close` has run nothing changes an outcome
(a late answer or quarantine lands in a future nobody reads), so what publish returns stands.
"""

from __future__ import annotations

from typing import Any

from forwarder.core.codes import DEADLINE_EXCEEDED, GROUP_BLOCKED, STOPPED
from forwarder.core.items import Filtered
from forwarder.core.outcomes import Outcome, Publication
from forwarder.publish.lanes import Lanes

_BLOCKED = "an earlier record of its group failed"


class Ledger:
    def __init__(self, items: list[Any]):
        self._items = items
        self.outcomes = [Outcome() for _ in items]
        self._done = [False] * len(items)
        self.requests = 0  # requests actually sent
        grouped = []
        for index, item in enumerate(items):  # one pass (the usual item has no group and is not Filtered)
            if item.group is not None:
                grouped.append((index, item.group))
            if isinstance(item, Filtered):  # done before anything is sent; in no lane, so no group waits for it
                self.outcomes[index].filtered = self._done[index] = True
        self._lanes = Lanes(grouped)
        self._grouped = bool(grouped)  # else no lane to move on: `confirm` need not look up the item's group

    def first_of_groups(self) -> list[int]:
        return self._lanes.heads()

    def count_attempts(self, indices: list[int]) -> None:
        outcomes = self.outcomes
        for index in indices:
            outcomes[index].attempts += 1

    def note(self, index: int, code: str, message: str) -> None:
        """The item's latest error, while it is still open (to be retried, or being quarantined)."""
        outcome = self.outcomes[index]
        outcome.error_code, outcome.error_message = code, message

    def confirm(self, index: int, event_id: str | None, success_code: str | None) -> int | None:
        """Settle the item as confirmed (`event_id` or `success_code` given); return the next item of its group,
        now free to go out. Once per entry on the hot path."""
        outcome = self.outcomes[index]
        outcome.event_id, outcome.success_code = event_id, success_code
        outcome.error_code = outcome.error_message = None  # what earlier attempts left
        self._done[index] = True
        group = self._items[index].group if self._grouped else None
        return None if group is None else self._lanes.next_after(group)

    def quarantined(self, index: int) -> int | None:
        """Settle the item as moved aside; return the next item of its group, now free to go out."""
        self.outcomes[index].quarantined = True  # its error stays: the report says why it was moved aside
        self._done[index] = True
        return self._lanes.next_after(self._items[index].group)

    def report(self, index: int, code: str, message: str) -> None:
        """Settle the item as handed back to the source; the rest of its group with it."""
        outcome = self.outcomes[index]
        outcome.event_id, outcome.success_code = None, None
        outcome.error_code, outcome.error_message = code, message
        self._done[index] = True
        for later in self._lanes.block(self._items[index].group):
            self.outcomes[later] = Outcome(error_code=GROUP_BLOCKED, error_message=_BLOCKED)
            self._done[later] = True

    def close(self, sent: list[list[int]], preparing: list[int], quarantining: list[int],
              stopped: bool = False) -> Publication:
        """The deadline came (or, `stopped`, the caller's stop): settle what is still open, once and for good
        (see `Scheduler.left_open`)."""
        for indices in sent:
            self.count_attempts(indices)
        for index in preparing:
            pending = self._items[index]
            self.report(index, pending.code, f"{pending.task} did not finish before the invocation's deadline")
        for index in quarantining:
            # It may still land in the quarantine queue: reported, the worst is a duplicate, never a loss.
            outcome = self.outcomes[index]
            reason = "the quarantine queue did not confirm it before the invocation's deadline (it failed with "
            self.report(index, DEADLINE_EXCEEDED, f"{reason}{outcome.error_code}: {outcome.error_message})")
        if stopped:
            self._close_stopped({index for indices in sent for index in indices})
        for index, finished in enumerate(self._done):
            if not finished:
                last = self.outcomes[index].error_code
                note = f" (last error: {last})" if last else ""
                self.report(index, DEADLINE_EXCEEDED, f"not confirmed before the invocation's deadline{note}")
        # Entry sends beyond the first, counted once here rather than at every send (an outcome replaced by
        # `report`'s blocking was never sent: it had no attempts to count).
        retries = sum(outcome.attempts - 1 for outcome in self.outcomes if outcome.attempts > 1)
        return Publication(self.outcomes, self.requests, retries)

    def _close_stopped(self, in_flight: set[int]) -> None:
        """What the caller's stop left open says whether it may have reached the bus: only what was in flight may."""
        for index, finished in enumerate(self._done):
            if finished:
                continue
            outcome = self.outcomes[index]
            if index in in_flight:
                message = "stopped while its request was in flight: it may have reached the bus"
            elif outcome.attempts:
                message = f"not sent again: stopped (last error: {outcome.error_code})"
            else:
                message = "not sent: stopped before its turn"
            self.report(index, STOPPED, message)
