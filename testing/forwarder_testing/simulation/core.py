"""What every simulated event source shares: the messages, a batch in flight, and the tally of what it saw.

``failed_ids`` is Lambda's reading of a partial batch response, the one rule both SQS and Kinesis apply.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Invoke = Callable[[dict], dict]


@dataclass(slots=True)
class Message:
    """What a producer sent: `key` names it in every place it may end up."""

    key: str
    body: str
    group: str | None = None
    trace: str | None = None


@dataclass(slots=True)
class Batch:
    event: dict
    items: list[Any]  # the source's own handle per record, in event order
    ids: list[str]  # itemIdentifier per record


@dataclass
class Tally:
    """What the event source saw; `reconcile` reads it."""

    invocations: int = 0
    deliveries: int = 0  # records handed to the function, counting redeliveries
    reported: int = 0  # records named in batchItemFailures
    failed_invocations: int = 0  # the handler raised, or answered with an id not in the batch
    order_violations: int = 0  # FIFO: a record confirmed after an earlier one of its group was reported
    parked: dict[str, list[str]] = field(default_factory=dict)  # "dlq" / "on_failure" -> message keys
    redelivered_confirmed: Counter = field(default_factory=Counter)  # key -> times delivered again after
    # the function had confirmed it (Kinesis resumes a shard before records that had succeeded)
    recovered: list[float] = field(default_factory=list)  # SQS: virtual seconds from the first receive to the
    # confirming one, per message reported at least once


def failed_ids(batch: Batch, response: dict | BaseException, tally: Tally) -> set[str]:
    """The ids Lambda treats as failed: the whole batch when the invocation or its answer is bad."""
    tally.invocations += 1
    tally.deliveries += len(batch.ids)
    if isinstance(response, BaseException) or not isinstance(response, dict):
        tally.failed_invocations += 1
        return set(batch.ids)
    named = [item.get("itemIdentifier") for item in response.get("batchItemFailures") or []]
    if any(name not in batch.ids for name in named):  # Lambda fails the whole batch for an unknown id
        tally.failed_invocations += 1
        return set(batch.ids)
    tally.reported += len(set(named))
    return set(named)
