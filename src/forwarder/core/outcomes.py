"""What became of each entry: the data the publisher hands to the report, free of any AWS client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Outcome:
    event_id: str | None = None
    success_code: str | None = None  # Custom Event Bus: PUBLISHED, or DEDUPLICATED (published before)
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 0
    quarantined: bool = False  # failed for good, then moved to the quarantine queue
    filtered: bool = False  # left out by EVENT_FILTER: done, never sent

    @property
    def confirmed(self) -> bool:
        return self.event_id is not None or self.success_code is not None

    # `settled` and `failed` are read once per record by the report: `confirmed` written out in them, not called.
    @property
    def settled(self) -> bool:
        """True when the source need not deliver this record again."""
        return self.event_id is not None or self.success_code is not None or self.quarantined or self.filtered

    @property
    def failed(self) -> bool:
        """True when the record did not reach the bus though it was meant to (reported or quarantined)."""
        return self.event_id is None and self.success_code is None and not self.filtered


@dataclass(slots=True)
class Publication:
    outcomes: list[Outcome]
    requests: int = 0  # requests actually sent
    retries: int = 0  # entry sends beyond the first
    throttled: int = 0  # requests answered with throttling (the whole request, or any of its entries)
    in_flight_limit: int = 0  # requests the in-flight limit allowed when the call ended (publish/concurrency.py)

    @property
    def quarantined(self) -> int:
        return sum(outcome.quarantined for outcome in self.outcomes)

    @property
    def filtered(self) -> int:
        return sum(outcome.filtered for outcome in self.outcomes)
