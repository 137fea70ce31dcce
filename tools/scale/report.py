"""The scale run's figures as Markdown: one column per policy (phases pooled), the targets, how to rerun it."""

from __future__ import annotations

import statistics
from typing import Any

ROWS = [
    ("goodput (entries/s accepted)", "goodput_entries_per_second"),
    ("goodput / quota", "goodput_of_quota"),
    ("requests sent / s", "requests_per_second"),
    ("share of requests throttled", "throttled_share"),
    ("records reported", "reported"),
    ("records reported after attempts ran out", "exhausted"),
    ("batch latency p50 (s)", "batch_latency_p50_seconds"),
    ("batch latency p99 (s)", "batch_latency_p99_seconds"),
    ("requests per record", "requests_per_record"),
    ("records", "records"),
    ("lost", "lost"),
    ("duplicates on the bus", "duplicates"),
    ("invocations", "invocations"),
]
# Figures added up over the phases of a policy; the others are the median of its phases.
SUMMED = {"reported", "exhausted", "records", "lost", "duplicates", "invocations"}


def pooled(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """A policy's phases as one column."""
    column = {}
    for _, key in ROWS:
        values = [phase[key] for phase in phases if phase[key] is not None]
        column[key] = sum(values) if key in SUMMED else round(statistics.median(values), 3) if values else None
    column["still_reported"] = sum(phase["still_reported"] for phase in phases)
    return column


def targets(fixed: dict[str, Any], adaptive: dict[str, Any]) -> list[tuple[str, bool]]:
    """The issue's targets for the adaptive policy, each with whether this run met it."""
    return [
        ("goodput at least 90 % of the quota", adaptive["goodput_of_quota"] >= 0.9),
        ("at most 10 % of requests throttled", adaptive["throttled_share"] <= 0.1),
        ("at most a tenth of the fixed policy's exhausted records",
         adaptive["exhausted"] * 10 <= fixed["exhausted"]),
        ("nothing lost, by either policy",
         fixed["lost"] + adaptive["lost"] + fixed["still_reported"] + adaptive["still_reported"] == 0),
    ]


def markdown(results: dict[str, Any]) -> str:
    plan = results["plan"]
    fixed, adaptive = (pooled(results["phases"][mode]) for mode in ("fixed", "adaptive"))
    lines = [
        "## Processes: fixed against adaptive over HTTP",
        "",
        f"{plan['instances']} function instances, each its own process with a warm Forwarder, forward batches of "
        f"{plan['batch_size']} SQS records back to back for {plan['seconds']:g} s per phase to one fault endpoint "
        f"answering after {plan['latency_ms']:g} ms, with a quota of {plan['quota_rps']:g} PutEvents requests/s "
        f"(the bucket holds {plan['burst_seconds']:g} s of it) for all of them together: unthrottled, at "
        f"`MAX_CONCURRENCY={plan['max_concurrency']}`, they would send about {results['unthrottled_rps']:,.0f}/s. "
        f"`MAX_ATTEMPTS={plan['max_attempts']}`. Reported records come back in the instance's next batch; "
        f"{plan['rounds']} phase(s) per policy, alternating (figures summed, or the median of the phases).",
        "",
        "| figure | fixed | adaptive |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {label} | {_cell(fixed[key])} | {_cell(adaptive[key])} |" for label, key in ROWS]
    lines += ["", "Targets for the adaptive policy:", ""]
    lines += [f"- {'met' if met else 'NOT met'}: {text}" for text, met in targets(fixed, adaptive)]
    lines += [
        "",
        "Goodput and the share throttled are counted over the last three quarters of the stream (entries the "
        "endpoint accepted per second, against the quota times 10 entries a request); requests per record and "
        "the accounting over the whole phase, including the drain of what was still reported when the stream "
        "ended. This part runs in real time on a shared machine, whose speed varies: rerun to see the spread.",
        "",
    ]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{value:,}" if isinstance(value, int) else str(value)
