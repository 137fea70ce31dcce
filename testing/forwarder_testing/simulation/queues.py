"""The two shapes of SQS queue behind ``SqsSource``: what is visible next, and what a finished batch frees.

- ``StandardQueue``: visible messages in arrival order; reported ones are hidden until their
  visibility timeout ends (a heap by that time), then join the visible ones again.
- ``FifoGroups``: one lane per message group, in order. A group is handed out again only once its
  batch has finished and every message it reported is visible again (SQS holds a group back while any
  of its messages is in flight), so no two batches ever hold one group; confirmed messages leave their
  lane, reported ones stay at its head.

Both take a ``receive`` callable from the source: it counts a receive, or says no when the message
has had its receives (it is then in the dead-letter queue and must not be handed out).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from forwarder_testing.simulation.core import Message


@dataclass(slots=True, eq=False)
class Queued:
    message: Message
    message_id: str
    sequence: int
    receives: int = 0
    visible_at: float = 0.0
    first_received: float | None = None  # virtual time of the first receive
    received_at: float = 0.0  # of the latest receive


Receive = Callable[[Queued], bool]


class StandardQueue:
    def __init__(self) -> None:
        self.ready: deque[Queued] = deque()  # visible messages
        self.hidden: list[tuple[float, int, Queued]] = []  # (visible_at, sequence, message)
        self.in_flight = 0

    def add(self, queued: Queued) -> None:
        self.ready.append(queued)

    @property
    def remaining(self) -> int:
        return len(self.ready) + len(self.hidden) + self.in_flight

    def take(self, now: float, limit: int, receive: Receive) -> list[Queued]:
        while self.hidden and self.hidden[0][0] <= now:
            self.ready.append(heapq.heappop(self.hidden)[2])
        taken: list[Queued] = []
        while self.ready and len(taken) < limit:
            queued = self.ready.popleft()
            if receive(queued):
                taken.append(queued)
        self.in_flight += len(taken)
        return taken

    def settle(self, items: list[Queued], failed: set[str]) -> int:
        """Hide the reported messages until their visibility timeout ends; confirmed ones are deleted."""
        self.in_flight -= len(items)
        for queued in items:
            if queued.message_id in failed:
                heapq.heappush(self.hidden, (queued.visible_at, queued.sequence, queued))
        return 0  # no order to keep

    def next_visible(self) -> list[float]:
        return [self.hidden[0][0]] if self.hidden else []


class FifoGroups:
    def __init__(self, per_group: int) -> None:
        self.per_group = per_group  # messages of one group per batch
        self.groups: OrderedDict[str, deque[Queued]] = OrderedDict()  # group -> its messages, in order
        self.busy_groups: set[str] = set()
        self.held_until: dict[str, float] = {}  # group -> when the last message its batch reported is visible

    def add(self, queued: Queued) -> None:
        self.groups.setdefault(queued.message.group or "", deque()).append(queued)

    @property
    def remaining(self) -> int:
        return sum(len(lane) for lane in self.groups.values())

    def take(self, now: float, limit: int, receive: Receive) -> list[Queued]:
        taken: list[Queued] = []
        for group in list(self.groups):
            if len(taken) >= limit:
                break
            lane = self.groups[group]
            if group in self.busy_groups or self.held_until.get(group, 0.0) > now:
                continue  # in flight, or a message it reported waits out its visibility
            self.groups.move_to_end(group)  # round robin over the groups
            picked = self._take_from(lane, limit - len(taken), receive)
            taken += picked
            if not lane:
                del self.groups[group]
            elif picked:
                self.busy_groups.add(group)
        return taken

    def _take_from(self, lane: deque[Queued], room: int, receive: Receive) -> list[Queued]:
        """The head of one group's lane; messages past their receives leave it (the group goes on)."""
        picked: list[Queued] = []
        while len(picked) < len(lane) and len(picked) < self.per_group and len(picked) < room:
            queued = lane[len(picked)]
            if receive(queued):
                picked.append(queued)
            else:
                del lane[len(picked)]  # moved to the dead-letter queue
        return picked

    def settle(self, items: list[Queued], failed: set[str]) -> int:
        """Delete the confirmed messages; returns how many were confirmed after an earlier one of
        their group was reported (Lambda's FIFO rule is to stop a group at its first failure)."""
        blocked: set[str] = set()
        violations = 0
        for group in {queued.message.group or "" for queued in items}:
            self.held_until.pop(group, None)
        for queued in items:
            group = queued.message.group or ""
            if queued.message_id in failed:
                blocked.add(group)
                self.held_until[group] = max(self.held_until.get(group, 0.0), queued.visible_at)
                continue
            violations += group in blocked
            self.groups[group].remove(queued)
            if not self.groups[group]:
                del self.groups[group]
        self.busy_groups.difference_update(queued.message.group or "" for queued in items)
        return violations

    def next_visible(self) -> list[float]:
        return [self.held_until.get(group, 0.0) for group in self.groups if group not in self.busy_groups]
