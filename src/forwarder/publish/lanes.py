"""FIFO lanes: the records of one message group, held back until the one before them is settled.

Only the head of each lane is out at any time. When it is settled for good (confirmed or moved aside)
the next one comes out; when it fails, the rest of its lane never goes out, so order is never broken.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


class Lanes:
    def __init__(self, groups: Iterable[tuple[int, str]]):
        """`groups`: (index, group) of every grouped item, in order."""
        self._lanes: dict[str, deque[int]] = {}
        for index, group in groups:
            self._lanes.setdefault(group, deque()).append(index)

    def heads(self) -> list[int]:
        """Take the first index of every lane, for the start of a call."""
        return [lane.popleft() for lane in self._lanes.values()]

    def next_after(self, group: str | None) -> int | None:
        """Take the index that may go out now that the one before it in `group` is settled, if any."""
        lane = self._lanes.get(group) if group is not None else None
        return lane.popleft() if lane else None

    def block(self, group: str | None) -> list[int]:
        """Take the indices that will never go out, as the one before them in `group` failed."""
        lane = self._lanes.pop(group, None) if group is not None else None
        return list(lane) if lane else []
