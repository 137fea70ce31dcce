"""`make bench` at a tiny size, so the harness cannot rot. No timing is asserted: only that it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_bench_harness_runs_at_a_tiny_size(tmp_path: Path) -> None:
    # GIVEN the suite's environment minus what the bench sets itself
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENT_", "AWS_ENDPOINT_URL"))}
    # WHEN the whole harness runs with the smoke profile
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--profile", "smoke", "--out-dir", str(tmp_path), "--no-chart"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    # THEN it writes the report with every section, and results for every contender
    assert done.returncode == 0, done.stderr[-3000:]
    report = (tmp_path / "BENCHMARKS.md").read_text()
    for heading in ("## Machine", "## Targets", "## Throughput", "## Levers", "## At Lambda's CPU share",
                    "## Cold start", "## Memory", "## Raw payloads", "## The physical limit"):
        assert heading in report
    results = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert {s["contender"] for s in results["samples"]} == {"forwarder", "per_record", "chunked", "floor"}
    assert results["endpoint_stats"]["entries_accepted"] > 0
    # the Lambda-share profile ran under a CPU quota, or says why it could not
    share = results["lambda_share"]
    assert share.get("skipped") or {s["contender"] for s in share["sizes"]["1769"]} == {
        "forwarder", "chunked", "forwarder@2"}
    assert share.get("skipped", "") in report or "| 1,769 MB | forwarder (default settings) |" in report
    # WHEN the Lambda-share profile alone runs again into those results
    again = subprocess.run(
        [sys.executable, "-m", "bench", "--profile", "smoke", "--out-dir", str(tmp_path), "--no-chart", "--only-share"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    # THEN it replaces that section only, and says when it ran
    assert again.returncode == 0, again.stderr[-3000:]
    rerun = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert rerun["lambda_share"]["profile"] == "smoke" and rerun["samples"] == results["samples"]
    assert "(profile `smoke`, load average" in (tmp_path / "BENCHMARKS.md").read_text()


def test_the_chart_is_drawn_from_results(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # a bench-only dependency, installed by `make bench`
    from bench import report

    samples = [{"contender": c, "latency_ms": 10, "size": n, "wall": n / r, "cpu": 0.01}
               for c, r in (("forwarder", 5000), ("floor", 900)) for n in (100, 1000)]
    report.chart({"samples": samples, "profile": {"sizes": [100, 1000]},
                  "machine": {"cores": 2, "python": "3.13", "boto3": "1"}}, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_share_chart_is_drawn_from_results(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from bench import share_report

    samples = [{"contender": c, "memory_mb": m, "wall": 2000 / (r * m / 256), "cpu": 0.1}
               for c, r in (("forwarder", 2800), ("chunked", 800)) for m in (128, 256, 1769)]
    share = {"records": 2000, "latency_ms": 10, "sizes": {str(m): [s for s in samples if s["memory_mb"] == m]
                                                           for m in (128, 256, 1769)}}
    assert share_report.chart({"lambda_share": share}, tmp_path / "share.png")
    assert (tmp_path / "share.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # and the cost column follows the price: a million records at 2,800/s at 256 MB, in batches of 2,000
    assert abs(share_report.cost_per_million(256, 2800, 2000) - (1e6 / 2800 / 4 * 0.0000133334 + 500 * 0.2e-6)) < 1e-12
