"""The command line of the scale run: the plan from the options, the figures printed and written out."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tools.scale import fleet, fleet_report
from tools.scale.report import markdown, pooled, targets
from tools.scale.run import Plan, run

DEFAULT_REPORT = Path(__file__).resolve().parents[2] / "docs" / "scale-results.md"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.scale",
                                     description="Instances sharing one PutEvents quota: fixed against adaptive.")
    defaults = Plan()
    parser.add_argument("--instances", type=int, default=defaults.instances)
    parser.add_argument("--seconds", type=float, default=defaults.seconds, help="steady stream per phase")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--latency-ms", type=float, default=defaults.latency_ms)
    parser.add_argument("--quota-rps", type=float, default=defaults.quota_rps)
    parser.add_argument("--burst-seconds", type=float, default=defaults.burst_seconds)
    parser.add_argument("--max-concurrency", type=int, default=defaults.max_concurrency)
    parser.add_argument("--max-attempts", type=int, default=defaults.max_attempts)
    parser.add_argument("--rounds", type=int, default=defaults.rounds, help="phases per policy, alternating")
    parser.add_argument("--report", default=str(DEFAULT_REPORT), help="Markdown page to write ('' for none)")
    parser.add_argument("--json", default="", help="also write the raw figures here")
    parser.add_argument("--part", choices=("all", "processes", "fleet"), default="all",
                        help="the processes over HTTP (fixed against adaptive), the fleets on a virtual clock, or both")
    return parser.parse_args(argv)


HEADER = [
    "# Scale results",
    "",
    "Written by `make scale` (`python -m tools.scale`); do not edit by hand. What it runs and why:",
    "[adaptive concurrency](reliability.md#adaptive-concurrency) and [pacing below one request in flight]"
    "(reliability.md#pacing-below-one-request-in-flight).",
    "",
]
FOOTER = [
    "Rerun: `make scale` (about four minutes), one part of it (`make scale SCALE_ARGS=\"--part fleet\"`), or for "
    "instance `make scale SCALE_ARGS=\"--part processes --instances 12 --seconds 30 --rounds 3\"` "
    "(`python -m tools.scale --help`).",
    "",
]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    lines, raw, met = list(HEADER), {}, True
    if args.part in ("all", "fleet"):
        started = time.perf_counter()
        raw["fleet"] = [fleet.run_case(case) for case in fleet.CASES]
        lines += fleet_report.markdown(raw["fleet"], time.perf_counter() - started)
        met = met and fleet_report.all_met(raw["fleet"])
    if args.part in ("all", "processes"):
        plan = Plan(args.instances, args.seconds, args.batch_size, args.latency_ms, args.quota_rps,
                    args.burst_seconds, args.max_concurrency, args.max_attempts, args.rounds)
        raw["processes"] = results = run(plan)
        lines += markdown(results).splitlines() + [""]
        fixed, adaptive = (pooled(results["phases"][mode]) for mode in ("fixed", "adaptive"))
        met = met and all(ok for _, ok in targets(fixed, adaptive))
    page = "\n".join(lines + FOOTER)
    print(page)
    if args.report:
        Path(args.report).write_text(page)
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=2))
    return 0 if met else 1
