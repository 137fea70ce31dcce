"""The command line of the scale run: the plan from the options, the figures printed and written out."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    plan = Plan(args.instances, args.seconds, args.batch_size, args.latency_ms, args.quota_rps,
                args.burst_seconds, args.max_concurrency, args.max_attempts, args.rounds)
    results = run(plan)
    page = markdown(results)
    print(page)
    if args.report:
        Path(args.report).write_text(page)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    fixed, adaptive = (pooled(results["phases"][mode]) for mode in ("fixed", "adaptive"))
    return 0 if all(met for _, met in targets(fixed, adaptive)) else 1
