"""``reconcile``: where every message went (on the bus, dead-letter queue / on-failure destination /
quarantine, or lost), and the cause of every duplicate on the bus.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from forwarder_testing.simulation.core import Message, Tally


def message_key(detail: str) -> str | None:
    """The soak's messages are JSON objects with an "id"."""
    try:
        value = json.loads(detail)
    except ValueError:
        return None
    return value.get("id") if isinstance(value, dict) else None


def payload_of(entry: dict) -> str:
    """An accepted entry's payload: its Detail, or a raw entry's Data (PutRawEvents) read as UTF-8."""
    if "DataBase64" in entry:
        return base64.b64decode(entry["DataBase64"]).decode("utf-8", "replace")
    return entry.get("Detail", "")


def reconcile(
    messages: Sequence[Message],
    bus: Sequence[dict],
    ambiguous_event_ids: Iterable[str],
    tally: Tally,
    quarantine: Iterable[str] = (),
    is_poison: Callable[[Message], bool] = lambda message: False,
) -> dict[str, Any]:
    """Where every message went, and why each duplicate on the bus exists (see ``_duplicates``)."""
    copies, ambiguous_copies, first_on_bus = _copies_on_bus(bus, set(ambiguous_event_ids))
    parked = {place: set(keys) for place, keys in tally.parked.items()}
    parked["quarantine"] = set(quarantine)
    known = {message.key for message in messages}
    lost = [m.key for m in messages if m.key not in copies and not any(m.key in keys for keys in parked.values())]
    healthy_parked = {
        place: sum(1 for m in messages if m.key in keys and not is_poison(m)) for place, keys in parked.items()
    }
    return {
        "messages": len(messages),
        "poison": sum(1 for m in messages if is_poison(m)),
        "on_bus": sum(1 for m in messages if m.key in copies),
        "parked": {place: len(keys & known) for place, keys in parked.items()},
        "healthy_parked": healthy_parked,
        "poison_on_bus": sum(1 for m in messages if is_poison(m) and m.key in copies),
        "lost": len(lost),
        "lost_examples": lost[:5],
        "unknown_on_bus": sum(count for key, count in copies.items() if key not in known),
        **_duplicates(copies, ambiguous_copies, tally),
        "fifo_order_violations_on_bus": _order_violations(messages, first_on_bus),
        "invocations": tally.invocations,
        "deliveries": tally.deliveries,
        "reported": tally.reported,
        "failed_invocations": tally.failed_invocations,
        "fifo_order_violations_in_responses": tally.order_violations,
    }


def _copies_on_bus(bus: Sequence[dict], ambiguous: set[str]) -> tuple[Counter, Counter, dict[str, int]]:
    """Per message key: its copies on the bus, how many of them an ambiguous request accepted, and
    the position of its first copy."""
    copies: Counter[str] = Counter()
    ambiguous_copies: Counter[str] = Counter()
    first_on_bus: dict[str, int] = {}
    for position, entry in enumerate(bus):
        key = message_key(payload_of(entry))
        copies[key] += 1
        ambiguous_copies[key] += entry.get("EventId") in ambiguous
        first_on_bus.setdefault(key, position)
    return copies, ambiguous_copies, first_on_bus


def _duplicates(copies: Counter, ambiguous_copies: Counter, tally: Tally) -> dict[str, int]:
    """Every copy beyond the first, by cause.

    A message that is confirmed once is never sent again by the function, so a copy beyond the
    first needs a cause: it was accepted in a request whose answer was lost (ambiguous), or the
    event source delivered the record again after the function had confirmed it (a Kinesis
    shard resuming before it). Copies with neither cause are `unexplained`.
    """
    explained_ambiguous = explained_redelivery = unexplained = 0
    for key, count in copies.items():
        extra = count - 1
        by_ambiguity = min(extra, ambiguous_copies[key])
        by_redelivery = min(extra - by_ambiguity, tally.redelivered_confirmed[key])
        explained_ambiguous += by_ambiguity
        explained_redelivery += by_redelivery
        unexplained += extra - by_ambiguity - by_redelivery
    return {
        "duplicates": sum(count - 1 for count in copies.values()),
        "duplicates_ambiguous": explained_ambiguous,
        "duplicates_source_redelivery": explained_redelivery,
        "duplicates_unexplained": unexplained,
    }


def _order_violations(messages: Sequence[Message], first_on_bus: dict[str, int]) -> int:
    """Per FIFO group, messages must first reach the bus in the order they were sent."""
    last: dict[str, int] = {}
    violations = 0
    for message in messages:
        if message.group is None or message.key not in first_on_bus:
            continue
        position = first_on_bus[message.key]
        if position < last.get(message.group, -1):
            violations += 1
        last[message.group] = max(position, last.get(message.group, -1))
    return violations
