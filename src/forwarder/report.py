"""Outcomes -> the partial batch response Lambda's event source mapping reads, and a summary.

Lambda redelivers exactly the records named here (SQS), or resumes the shard at the lowest
sequence number named (Kinesis); naming nothing means the whole batch was confirmed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from forwarder.outcomes import Outcome
from forwarder.records import SourceRecord


@dataclass(frozen=True, slots=True)
class Summary:
    received: int
    forwarded: int
    failed: int  # handed back to the event source
    quarantined: int
    failures_by_code: dict[str, int] = field(default_factory=dict)


def batch_response(records: Sequence[SourceRecord], outcomes: Sequence[Outcome]) -> dict:
    """Name every record neither confirmed nor quarantined, once each, in batch order."""
    failed = dict.fromkeys(r.item_id for r, o in zip(records, outcomes, strict=True) if not o.settled)
    return {"batchItemFailures": [{"itemIdentifier": item_id} for item_id in failed]}


def failures_to_log(outcomes: Sequence[Outcome], limit: int) -> list[int]:
    """Indices of at most `limit` records not confirmed, in batch order: the first record of each kind of
    failure (code, and whether quarantined) comes first, so that a rare code is not hidden behind a flood
    of another; then the earliest of the rest."""
    failed = [index for index, outcome in enumerate(outcomes) if not outcome.confirmed]
    if len(failed) <= limit:
        return failed
    first_of_kind: dict[tuple[str | None, bool], int] = {}
    for index in failed:
        first_of_kind.setdefault((outcomes[index].error_code, outcomes[index].quarantined), index)
    chosen = set(list(first_of_kind.values())[:limit])
    for index in failed:
        if len(chosen) == limit:
            break
        chosen.add(index)
    return sorted(chosen)


def summarize(outcomes: Sequence[Outcome]) -> Summary:
    """Counts per invocation; `failures_by_code` covers quarantined records too."""
    codes = Counter(o.error_code or "Unknown" for o in outcomes if not o.confirmed)
    quarantined = sum(o.quarantined for o in outcomes)
    forwarded = len(outcomes) - sum(codes.values())
    return Summary(len(outcomes), forwarded, sum(codes.values()) - quarantined, quarantined, dict(codes))
