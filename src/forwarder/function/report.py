"""Outcomes -> the partial batch response Lambda's event source mapping reads, and what the logs say.

Lambda redelivers exactly the records named here (SQS), or resumes the shard at the lowest
sequence number named (Kinesis); naming nothing means the whole batch was confirmed. The
`Reporter` writes each invocation's summary line, its bounded failure lines and its metrics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from forwarder.core.codes import SHAPING_FAILED
from forwarder.core.outcomes import Outcome, Publication
from forwarder.publish import answers
from forwarder.records.record import SourceRecord

if TYPE_CHECKING:
    from forwarder.stages.visibility import VisibilityChange

# What runs after the publisher stops must fit in the deadline margin. A Powertools log line costs tens of
# microseconds of a full core, several times that at a 256 MB function's share: a WARNING line per failed
# record of a 10,000-record batch would overrun the default 1 s margin, Lambda would time the invocation out
# and deliver the whole batch again (tests/integration/test_cpu_share.py checks the bound). So at most this
# many records are logged one by one (each kind of failure at least once), and one more line counts the rest.
MAX_FAILURE_LINES = 50
# The codes a line counts by come from the peer (publish/answers.py bounds each to MAX_PEER_CODE characters), and a
# peer may give every record a code of its own: a line names at most this many, the rarest counted together.
MAX_CODES_PER_LINE = 20
OTHER_CODES = "(other codes)"


@dataclass(frozen=True, slots=True)
class Summary:
    received: int
    forwarded: int
    failed: int  # handed back to the event source
    quarantined: int
    failures_by_code: dict[str, int] = field(default_factory=dict)
    filtered: int = 0  # left out by EVENT_FILTER: done, not forwarded, not failed


def batch_response(records: Sequence[SourceRecord], outcomes: Sequence[Outcome]) -> dict:
    """Name every record neither confirmed nor quarantined, once each, in batch order."""
    failed = dict.fromkeys(r.item_id for r, o in zip(records, outcomes, strict=True) if not o.settled)
    return {"batchItemFailures": [{"itemIdentifier": item_id} for item_id in failed]}


def failures_to_log(outcomes: Sequence[Outcome], limit: int) -> list[int]:
    """Indices of at most `limit` failed records (neither confirmed nor filtered), in batch order: the first
    record of each kind of failure (code, and whether quarantined) comes first, so that a rare code is not
    hidden behind a flood of another; then the earliest of the rest."""
    failed = [index for index, outcome in enumerate(outcomes) if outcome.failed]
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


def by_code_in_brief(counts: Mapping[str, int], most: int = MAX_CODES_PER_LINE) -> dict[str, int]:
    """`counts` for a log line: the `most` - 1 largest, and the rest summed under OTHER_CODES (all if they fit)."""
    if len(counts) <= most:
        return dict(counts)
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return {**dict(ranked[:most - 1]), OTHER_CODES: sum(count for _, count in ranked[most - 1:])}


def summarize(outcomes: Sequence[Outcome]) -> Summary:
    """Counts per invocation; `failures_by_code` covers quarantined records too."""
    codes = Counter(o.error_code or "Unknown" for o in outcomes if o.failed)
    quarantined = sum(o.quarantined for o in outcomes)
    filtered = sum(o.filtered for o in outcomes)
    forwarded = len(outcomes) - sum(codes.values()) - filtered
    return Summary(len(outcomes), forwarded, sum(codes.values()) - quarantined, quarantined, dict(codes), filtered)


class Reporter:
    """What an invocation tells its operator: why an event was refused, a WARNING line per failed record
    (at most MAX_FAILURE_LINES), the "batch done" summary, and the metrics.

    `logger` and `metrics` are Powertools' Logger and Metrics (the handler's), or anything with their methods.
    """

    def __init__(self, logger: Any, metrics: Any):
        self._logger = logger
        self._metrics = metrics

    def rejected(self, error: Exception) -> None:
        # The reason may quote the event (an eventSource of any length): bounded like a peer's text.
        reason = answers.bounded(str(error))
        self._logger.error("event rejected; Lambda will retry the whole batch", extra={"reason": reason})
        self._metrics.add_metric("BatchesRejected", MetricUnit.Count, 1)

    def published(
        self,
        source: str,
        records: Sequence[SourceRecord],
        publication: Publication,
        fallbacks: Mapping[tuple[str, str], int] | None = None,
        visibility: VisibilityChange | None = None,
    ) -> None:
        """`fallbacks`: (variable, reason) -> how many records fell back to the configured value (entries/shaping.py).
        `visibility`: what the visibility backoff did (stages/visibility.py), for SQS batches when it is on."""
        summary = summarize(publication.outcomes)
        extra = {} if visibility is None else self._visibility(visibility)
        self._log_failures(records, publication.outcomes, summary)
        self._log_fallbacks(fallbacks or {})
        self._logger.info(
            "batch done",
            extra={
                "event_source": source,
                "received": summary.received,
                "forwarded": summary.forwarded,
                "failed": summary.failed,
                "quarantined": summary.quarantined,
                "filtered": summary.filtered,
                "retried": publication.retries,
                "requests": publication.requests,
                "throttled": publication.throttled,
                "failures_by_code": by_code_in_brief(summary.failures_by_code),
                **extra,
            },
        )
        add = self._metrics.add_metric
        add("RecordsReceived", MetricUnit.Count, summary.received)
        add("RecordsForwarded", MetricUnit.Count, summary.forwarded)
        add("RecordsFailed", MetricUnit.Count, summary.failed)
        add("RecordsQuarantined", MetricUnit.Count, summary.quarantined)
        add("RecordsFiltered", MetricUnit.Count, summary.filtered)
        add("ShapingFallbacks", MetricUnit.Count, sum((fallbacks or {}).values()))
        add("ShapingFailures", MetricUnit.Count, summary.failures_by_code.get(SHAPING_FAILED, 0))
        add("EntriesRetried", MetricUnit.Count, publication.retries)
        add("PutEventsRequests", MetricUnit.Count, publication.requests)
        add("PutEventsThrottled", MetricUnit.Count, publication.throttled)
        add("InFlightLimit", MetricUnit.Count, publication.in_flight_limit)

    def _log_fallbacks(self, fallbacks: Mapping[tuple[str, str], int]) -> None:
        """One WARNING per kind of fallback (a bounded set of reasons, without any record's content)."""
        for (variable, reason), count in fallbacks.items():
            # Raw mode counts here too what its Metadata left out (entries/raw_entries.py): reasons that say "left out".
            self._logger.warning(
                "a value did not fit the entry and was left out" if reason.startswith("left out")
                else "shaping expression gave an unusable result; the configured value was used",
                extra={"variable": variable, "reason": reason, "records": count},
            )

    def _visibility(self, change: VisibilityChange) -> dict[str, int]:
        """Metrics and, when some reported record kept the queue's visibility timeout, one WARNING line."""
        add = self._metrics.add_metric
        add("VisibilityChanged", MetricUnit.Count, change.changed)
        add("VisibilityChangeFailed", MetricUnit.Count, change.failed)
        add("VisibilityNoReceiptHandle", MetricUnit.Count, change.skipped)
        if change.failed or change.skipped:
            self._logger.warning(
                "visibility not changed; these records come back when the queue's visibility timeout ends",
                extra={"failed": change.failed, "skipped": change.skipped,
                       "errors_by_code": by_code_in_brief(change.errors)},
            )
        return {
            "visibility_changed": change.changed,
            "visibility_failed": change.failed,
            "visibility_skipped": change.skipped,
        }

    def _log_failures(self, records: Sequence[SourceRecord], outcomes: Sequence[Outcome], summary: Summary) -> None:
        """A WARNING line for each of at most MAX_FAILURE_LINES failures, then one counting those left out."""
        logged = failures_to_log(outcomes, MAX_FAILURE_LINES)
        for index in logged:
            outcome = outcomes[index]
            self._logger.warning(
                "record quarantined" if outcome.quarantined else "record not forwarded; reported for redelivery",
                extra={
                    "item_id": records[index].item_id,
                    "error_code": outcome.error_code,
                    "error_message": outcome.error_message,
                    "attempts": outcome.attempts,
                },
            )
        not_logged = summary.failed + summary.quarantined - len(logged)
        if not_logged:
            self._logger.warning(
                "more records failed than are logged one by one",
                extra={"logged": len(logged), "not_logged": not_logged,
                       "failures_by_code": by_code_in_brief(summary.failures_by_code)},
            )
