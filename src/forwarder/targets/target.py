"""What every target provides (targets/buses.py has the four): the entry builders and the forwarder know a target
by this alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from forwarder.core.protocols import Send
from forwarder.targets.limits import EntryRules

if TYPE_CHECKING:  # the record readers import Powertools: the library (library/bulk.py) goes without them
    from forwarder.records.record import SourceRecord


class Target(Protocol):
    rules: EntryRules
    max_entries: int
    send: Send
    # How long the bus drops an entry whose DeduplicationId it was sent before (None: it keeps no such window);
    # the visibility backoff keeps a reported record's return within it (stages/visibility.py).
    dedup_window_seconds: float | None

    def complete(self, fields: dict[str, Any], record: SourceRecord, fallback_trace: str | None) -> str | None:
        """Add the fields only this target takes; return the group whose order must be kept, if any."""

    def entry_size(self, fields: dict[str, Any]) -> int:
        """The entry's size as this target's service counts it."""

    def close_connections(self) -> None:
        """Close the idle connections its sends keep for reuse (forwarder.function.snapstart)."""
