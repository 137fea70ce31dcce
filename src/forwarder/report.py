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


def summarize(outcomes: Sequence[Outcome]) -> Summary:
    """Counts per invocation; `failures_by_code` covers quarantined records too."""
    codes = Counter(o.error_code or "Unknown" for o in outcomes if not o.confirmed)
    quarantined = sum(o.quarantined for o in outcomes)
    forwarded = len(outcomes) - sum(codes.values())
    return Summary(len(outcomes), forwarded, sum(codes.values()) - quarantined, quarantined, dict(codes))
