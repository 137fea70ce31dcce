"""python -m bench [--profile full|quick|smoke] [--out-dir DIR] [--no-chart] [--only-share]

Writes DIR/BENCHMARKS.md, DIR/bench/throughput.png, DIR/bench/share.png and DIR/bench/results.json (DIR
defaults to the repository). --only-share reruns the Lambda-share profile alone, into DIR's results.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import report, runner, share, share_report

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(runner.PROFILES), default="full")
    parser.add_argument("--out-dir", type=Path, default=ROOT)
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG (needs matplotlib)")
    parser.add_argument("--from-results", type=Path, help="only rewrite the report from a results.json")
    parser.add_argument("--only-share", action="store_true",
                        help="run only the Lambda-share profile, into DIR/bench/results.json's other figures")
    args = parser.parse_args(argv)
    out = args.out_dir
    (out / "bench").mkdir(parents=True, exist_ok=True)
    if args.from_results:
        results = json.loads(args.from_results.read_text())
    elif args.only_share:
        previous = json.loads((out / "bench" / "results.json").read_text())
        results = share.run_alone(runner.PROFILES[args.profile], previous)
        (out / "bench" / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    else:
        results = runner.run(runner.PROFILES[args.profile])
        (out / "bench" / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    chart = share_chart = None
    if not args.no_chart:
        report.chart(results, out / "bench" / "throughput.png")
        chart = "bench/throughput.png"
        if share_report.chart(results, out / "bench" / "share.png"):
            share_chart = "bench/share.png"
    (out / "BENCHMARKS.md").write_text(report.markdown(results, chart, share_chart) + "\n")
    runner.log(f"wrote {out / 'BENCHMARKS.md'}")
    for name, goal, value, ok in report.targets(results):
        runner.log(f"{'MET ' if ok else 'MISS'} {name}: {value} (goal {goal})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
