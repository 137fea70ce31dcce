"""The command: the options, the scenarios run side by side, the printed table, the figures written out."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from forwarder_testing.local_aws import moto_server
from forwarder_testing.simulation import Workers
from tools.soak.accounting import problems
from tools.soak.runner import run_scenario
from tools.soak.scenarios import (
    DEDUP_WINDOW_SECONDS,
    ENTRY_FAULTS,
    REQUEST_FAULTS,
    SCENARIOS,
    TIMEOUT_MS,
    Scenario,
)

DESCRIPTION = "`make soak`: the forwarder under faults and load, through the simulated event sources."


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        ("messages", lambda r: r["messages"]),
        ("poison messages", lambda r: r["poison"]),
        ("on the bus", lambda r: r["on_bus"]),
        ("parked (DLQ / on-failure / quarantine)", lambda r: " / ".join(str(r["parked"].get(p, "-"))
                                                                        for p in ("dlq", "on_failure", "quarantine"))),
        ("healthy among parked", lambda r: sum(r["healthy_parked"].values())),
        ("LOST", lambda r: r["lost"]),
        ("duplicates on the bus", lambda r: r["duplicates"]),
        ("  from an ambiguous fault", lambda r: r["duplicates_ambiguous"]),
        ("  from the source redelivering", lambda r: r["duplicates_source_redelivery"]),
        ("  UNEXPLAINED", lambda r: r["duplicates_unexplained"]),
        ("duplicates by DeduplicationId", lambda r: r.get("duplicates_by_deduplication_id", "-")),
        ("answered DEDUPLICATED", lambda r: r.get("entries_deduplicated", "-")),
        ("FIFO order violations", lambda r: r["fifo_order_violations_on_bus"]),
        ("recovered after a report", lambda r: r.get("recovered", "-")),
        ("  p50 / max (virtual s)", lambda r: f"{r['recovery_p50_s']} / {r['recovery_max_s']}"
         if r.get("recovered") else "-"),
        ("invocations", lambda r: r["invocations"]),
        ("PutEvents requests", lambda r: r["put_events_requests"]),
        ("seconds", lambda r: r["seconds"]),
    ]
    kinds = sorted({kind for r in results for kind in r["faults_injected"]})
    rows += [(f"fault {kind}", lambda r, k=kind: r["faults_injected"].get(k, 0)) for kind in kinds]
    width = max(len(label) for label, _ in rows)
    lines = [f"{'':{width}}  " + "".join(f"{r['scenario']:>16}" for r in results)]
    for label, value in rows:
        lines.append(f"{label:{width}}  " + "".join(f"{value(r)!s:>16}" for r in results))
    return "\n".join(lines)


def write_report(summary: dict[str, Any], path: str) -> None:
    """The figures as docs/soak-results.md, the page docs/reliability.md links (as make bench writes BENCHMARKS.md)."""
    from tools.soak_report import markdown

    if path:
        Path(path).write_text(markdown(summary))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.soak", description=DESCRIPTION)
    parser.add_argument("--messages", type=int, default=100_000, help="per scenario")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("--workers", type=int, default=12,
                        help="function instances (processes) per scenario; Kinesis gets as many shards")
    parser.add_argument("--latency-ms", type=float, default=1.0, help="the endpoint's answer latency")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--parallel", type=int, default=2,
                        help="scenarios run at the same time (each has its own endpoint and function processes)")
    parser.add_argument("--out", default="soak-results.json")
    parser.add_argument("--report", default="docs/soak-results.md", help="the figures as Markdown; '' for none")
    parser.add_argument("--no-quarantine", action="store_true", help="FIFO without POISON_QUEUE_URL, for comparison")
    parser.add_argument("--no-visibility-backoff", action="store_true",
                        help="SQS: reported records wait out the queue's visibility timeout, for comparison")
    parser.add_argument("--poison-rate", type=float, help="share of poison messages, instead of each scenario's")
    return parser.parse_args(argv)


def chosen_scenarios(args: argparse.Namespace) -> list[Scenario]:
    """The scenarios named on the command line, in that order, with the options' overrides applied."""
    names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    scenarios = []
    for name in names:
        scenario = SCENARIOS[name]
        if args.no_quarantine:
            scenario = dataclasses.replace(scenario, quarantine=False)
        if args.no_visibility_backoff:
            scenario = dataclasses.replace(scenario, visibility_backoff=False)
        if args.poison_rate is not None:
            scenario = dataclasses.replace(scenario, poison_rate=args.poison_rate)
        scenarios.append(scenario)
    return scenarios


def run_all(args: argparse.Namespace, scenarios: list[Scenario]) -> list[dict[str, Any]]:
    with moto_server() as moto_url:

        def run(scenario: Scenario) -> dict[str, Any]:
            result = run_scenario(scenario, args.messages, lambda env: Workers(args.workers, env, TIMEOUT_MS),
                                  moto_url, args.latency_ms, args.seed, shards=args.workers)
            print(f"{scenario.name}: {result['messages']} messages in {result['seconds']} s, lost {result['lost']}",
                  flush=True)
            return result

        # Each scenario has its own endpoint process and function processes; the driving thread is light.
        with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
            return list(pool.map(run, scenarios))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios = chosen_scenarios(args)
    started = time.perf_counter()
    results = run_all(args, scenarios)
    summary = {
        "command": "make soak",
        "messages_per_scenario": args.messages,
        "workers": args.workers,
        "parallel": args.parallel,
        "endpoint_latency_ms": args.latency_ms,
        "entry_faults": ENTRY_FAULTS,
        "request_faults": REQUEST_FAULTS,
        "dedup_window_seconds": DEDUP_WINDOW_SECONDS,
        "visibility_backoff": not args.no_visibility_backoff,
        "queue_visibility_timeout_seconds": 6 * TIMEOUT_MS // 1000,
        "total_seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    write_report(summary, args.report)
    print()
    print(table(results))
    print(f"\ntotal {summary['total_seconds']} s; figures written to {args.out}")
    failures = [f"{r['scenario']}: {p}" for r in results for p in problems(r)]
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0
