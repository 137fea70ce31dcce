"""The fleet cases' figures as Markdown, with the issue's targets and whether each case met them."""

from __future__ import annotations

from typing import Any

from tools.scale.fleet import INVOKE_GAP_SECONDS, TIMEOUT_SECONDS

MAX_THROTTLED = 0.10
MIN_GOODPUT = 0.90
RECOVERY_AFTER_CUT = 10.0  # seconds to be back under MAX_THROTTLED after the quota halves
RECOVERY_AFTER_RISE = 30.0  # seconds to be back at MIN_GOODPUT of the quota after it doubles


def targets(result: dict[str, Any]) -> list[tuple[str, bool]]:
    """The issue's targets for one case, each with whether it was met."""
    met = [
        (f"at most {MAX_THROTTLED:.0%} of requests throttled", result["throttled_share"] <= MAX_THROTTLED),
        ("no record reported for exhausted attempts", result["exhausted"] == 0),
        ("nothing lost", result["lost"] + result["still_reported"] == 0),
    ]
    if result["goodput_of_quota"] is not None:
        met.append((f"goodput at least {MIN_GOODPUT:.0%} of the quota", result["goodput_of_quota"] >= MIN_GOODPUT))
    if "recovery_after_cut_seconds" in result:
        cut = result["recovery_after_cut_seconds"]
        met.append((f"under {MAX_THROTTLED:.0%} throttled within {RECOVERY_AFTER_CUT:g} s of the quota halving",
                    cut is not None and cut <= RECOVERY_AFTER_CUT))
    if "recovery_after_rise_seconds" in result:
        rise = result["recovery_after_rise_seconds"]
        met.append((f"at {MIN_GOODPUT:.0%} of the new quota within {RECOVERY_AFTER_RISE:g} s of it doubling",
                    rise is not None and rise <= RECOVERY_AFTER_RISE))
    return met


def all_met(results: list[dict[str, Any]]) -> bool:
    return all(ok for result in results for _, ok in targets(result))


ROWS = [
    ("quota: requests/s, entries/s", lambda r: f"{r['quota_rps']:,.0f}, {r['quota_eps']:,.0f}"),
    ("one in flight / fair share", lambda r: f"{r['case']['overshoot']:g}x"),
    ("requests sent / s", lambda r: f"{r['requests_per_second']:,.0f}"),
    ("share of requests throttled", lambda r: f"{r['throttled_share']:.3f}"),
    ("goodput / quota's entries/s", lambda r: "-" if r["goodput_of_quota"] is None else f"{r['goodput_of_quota']:.3f}"),
    ("records", lambda r: f"{r['records']:,}"),
    ("reported (any reason)", lambda r: f"{r['reported']:,}"),
    ("reported for exhausted attempts", lambda r: f"{r['exhausted']:,}"),
    ("lost", lambda r: f"{r['lost'] + r['still_reported']:,}"),
    ("duplicates on the bus", lambda r: f"{r['duplicates']:,}"),
    ("instances pacing at the end", lambda r: f"{r['paced_at_end']} of {r['case']['instances']}"),
    ("recovery after halving / doubling (s)",
     lambda r: "-" if "recovery_after_cut_seconds" not in r else
     f"{_seconds(r['recovery_after_cut_seconds'])} / {_seconds(r['recovery_after_rise_seconds'])}"),
    ("share throttled in the 10 s after the late ones start (no target)",
     lambda r: "-" if "throttled_share_while_joining" not in r else f"{r['throttled_share_while_joining']:.3f}"),
]


def _seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:g}"


def markdown(results: list[dict[str, Any]], wall_seconds: float) -> list[str]:
    lines = [
        "## Fleets of 4 to 200 instances (virtual clock)",
        "",
        "Each instance is a thread running the forwarder's real `Publisher` (scheduler, settlement, retry policy, "
        "adaptive in-flight limit and send rate, with the function's defaults: `MAX_CONCURRENCY=16`, "
        f"`MAX_ATTEMPTS=6`, a {TIMEOUT_SECONDS:g} s timeout), fed batches of 100 records back to back "
        f"({INVOKE_GAP_SECONDS * 1000:g} ms apart); what an invocation reports comes back at the head of its next "
        "batch, as SQS hands it out again. The instances take turns on one virtual clock "
        "(`forwarder_testing.simulation.fleet`): only the service is simulated, a quota of requests/s and "
        "entries/s (token buckets holding 1 s of each) answered as EventBridge answers (a request refused whole, "
        "or entries answered `ThrottlingException`) and answers after the latency given (±10 %). Two cores "
        "cannot run 200 processes honestly, and on a virtual clock the figures do not depend on how loaded the "
        f"machine is: this part took {wall_seconds:.0f} s of wall time. All instances start within 0.1 s, cold "
        "(16 in flight each), except where some start later (Lambda scaling out), cold in a fleet that is "
        "already paced. Throughput and throttling are counted after the warm-up (and after the late "
        "instances' own warm-up, of the same length); records, reports and losses over the whole run, the "
        "drain of what was still reported included.",
        "",
    ]
    header = "| figure | " + " | ".join(result["case"]["name"] for result in results) + " |"
    lines += [header, "| --- |" + " --- |" * len(results)]
    lines += [f"| {label} | " + " | ".join(cell(result) for result in results) + " |" for label, cell in ROWS]
    lines += ["", "Targets:", ""]
    for result in results:
        missed = [text for text, ok in targets(result) if not ok]
        verdict = "all met" if not missed else "NOT met: " + "; ".join(missed)
        lines.append(f"- {result['case']['name']} ({result['case']['seconds']:g} s, warm-up "
                     f"{result['case']['warm_up']:g} s): {verdict}")
    changing = [result for result in results if "series" in result]
    for result in changing:
        lines += ["", f"{result['case']['name']}: share throttled and entries/s accepted per 2 s", "",
                  "| from (s) | throttled | entries/s |", "| --- | --- | --- |"]
        lines += [f"| {start:g} | {share:.3f} | {rate:,} |" for start, share, rate in result["series"]]
    return lines + [""]
