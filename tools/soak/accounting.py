"""Accounting for a scenario's run: where every message went, and what counts as a failure of the soak."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from forwarder_testing.local_aws import drain
from forwarder_testing.simulation import Message, Tally, message_key, reconcile
from tools.soak.scenarios import Scenario, is_poison


def quarantined_keys(sqs: Any, queue_url: str) -> list[str]:
    """Drain the quarantine queue; each body holds the Lambda record as received."""
    return [message_key(json.loads(message["Body"])["record"].get("body") or "") for message in drain(sqs, queue_url)]


def account(
    scenario: Scenario,
    messages: list[Message],
    bus: Any,
    tally: Tally,
    quarantine: list[str],
    seconds: float,
) -> dict[str, Any]:
    """`bus` is a FaultEndpoint or an EndpointProcess: accepted(), accepted_v2(), ambiguous(), stats().

    On a Custom Event Bus the bus is what eventbridgev2 accepted; duplicates are counted by message
    key (as on the classic bus) and by DeduplicationId, and the entries answered DEDUPLICATED are what
    would have been duplicates without the bus's deduplication.
    """
    accepted = bus.accepted()
    on_bus = bus.accepted_v2() if scenario.custom_bus else accepted
    result = reconcile(messages, on_bus, bus.ambiguous(), tally, quarantine, is_poison)
    stats = bus.stats()
    custom = _custom_bus_figures(accepted, on_bus, stats) if scenario.custom_bus else {}
    if scenario.raw_payload:  # raw mode sends through PutRawEvents alone
        custom["put_events_entries_in_raw_mode"] = len(on_bus) - custom["raw_entries_on_bus"]
    recovery = recovery_figures(tally.recovered) if scenario.source != "kinesis" else {}
    return {
        "scenario": scenario.name,
        "source": scenario.source,
        "quarantine": scenario.quarantine,
        "bus": "custom" if scenario.custom_bus else "classic",
        "payload": "raw" if scenario.raw_payload else "json",
        "visibility_backoff": None if scenario.source == "kinesis" else scenario.visibility_backoff,
        **result,
        **custom,
        **recovery,
        "faults_injected": dict(sorted(stats["faults"].items())),
        "rejections": dict(sorted(stats["rejections"].items())),
        "put_events_requests": stats["requests"],
        "entries_received": stats["entries_received"],
        "seconds": round(seconds, 1),
    }


def _custom_bus_figures(accepted: list[dict], on_bus: list[dict], stats: dict[str, Any]) -> dict[str, int]:
    """Duplicates by DeduplicationId, entries without one, classic entries where none belong, and
    the entries the bus answered DEDUPLICATED."""
    ids = Counter((entry.get("SystemMetadata") or {}).get("DeduplicationId") for entry in on_bus)
    return {
        "raw_entries_on_bus": sum(entry.get("Operation") == "PutRawEvents" for entry in on_bus),
        "duplicates_by_deduplication_id": sum(count - 1 for count in ids.values()),
        "entries_without_deduplication_id": ids.get(None, 0),
        "classic_entries_on_bus": len(accepted) - len(on_bus),
        "entries_deduplicated": stats.get("eventbridgev2", {}).get("entries_deduplicated", 0),
    }


def recovery_figures(recovered: list[float]) -> dict[str, Any]:
    """SQS: how long a reported record took to come back and be confirmed, in the queue's (virtual) seconds."""
    ordered = sorted(recovered)

    def at(share: float) -> float | None:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1) if ordered else None

    return {"recovered": len(ordered), "recovery_p50_s": at(0.5), "recovery_p99_s": at(0.99),
            "recovery_max_s": ordered[-1] if ordered else None}


def problems(result: dict[str, Any]) -> list[str]:
    found = []
    for key in ("lost", "duplicates_unexplained", "poison_on_bus", "unknown_on_bus", "fifo_order_violations_on_bus",
                "fifo_order_violations_in_responses"):
        if result[key]:
            found.append(f"{key}={result[key]}")
    if result["source"] == "fifo" and result["healthy_parked"].get("dlq"):
        found.append(f"healthy messages in the DLQ={result['healthy_parked']['dlq']}")
    # Deduplicated by the bus: no duplicate at all, whatever its cause; but with the visibility backoff off a
    # reported SQS record comes back after the window, and its duplicate (if explained) is what that shows.
    if result.get("bus") == "custom" and result.get("visibility_backoff") is not False:
        for key in ("duplicates", "duplicates_by_deduplication_id", "entries_without_deduplication_id",
                    "classic_entries_on_bus", "put_events_entries_in_raw_mode"):
            if result.get(key):
                found.append(f"{key}={result[key]}")
    return found
