"""The items the publisher takes, one per record: an `Entry` to send, or what stands in for one (`Rejected`,
`Filtered`, `Pending`); and `Shaped`, what the shaping expressions gave for a record. Made by the entry builders
(entries/) and the claim check (stages/claim_check.py), taken by the publisher (publish/)."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class Entry:
    fields: dict  # the PutEventsRequestEntry as boto3 takes it
    size: int  # bytes by the target's size count
    group: str | None = None  # entries of one group are confirmed one after another


@dataclass(slots=True)
class Rejected:
    """A record that never becomes an entry; it is reported with this reason."""

    code: str
    message: str
    group: str | None = None


@dataclass(slots=True)
class Filtered:
    """A record EVENT_FILTER left out: settled as done at once, never sent, and it holds back no group."""

    group: None = None


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


@dataclass(frozen=True, slots=True)
class Shaped:
    """What the shaping expressions gave for one record (entries/shaping.py); None: the configured or the record's
    own."""

    source: str | None = None
    detail_type: str | None = None
    detail: str | None = None  # the Detail text
    resources: tuple[str, ...] | None = None
    time: datetime | None = None
