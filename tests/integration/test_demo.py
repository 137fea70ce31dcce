"""`make demo` works, and tells the same story on every run: the samples reach the bus (the large one through
S3, each with its trace header), the test order is filtered, the record the filter's mistake failed is
quarantined with its reason, and `redrive` brings it back once the setting is corrected."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

TRACE = "Root=1-6740a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"


def run_demo() -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "demo.py")], capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def without_run_details(output: str) -> str:
    """The report less what differs from run to run by nature: message ids and the emulator's port."""
    output = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", output)
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", output)


def test_the_demo_tells_the_whole_story():
    output = run_demo()
    assert "== 3 event(s) reached the bus demo-bus ==" in output
    assert f"trace header: {TRACE}" in output
    assert '{"dataref":{"bucket":"demo-large-payloads"' in output
    assert "bucket demo-large-payloads holds 1 payload(s)" in output
    assert "filtered=1" in output
    # the failure's reason is in the summary, and the queues' own counts agree with it
    assert "== 1 record(s) in demo-quarantine ==\n- ShapingFailed: EVENT_FILTER failed on this record" in output
    assert "== 0 record(s) reported for redelivery; demo-source holds 0 message(s) ==" in output
    # then redrive brings it back
    summary = "summary: messages=1 forwarded=1 filtered=0 moved=0 failed=0 expired=0 unrecognised=0 deleted=1 left=0"
    assert summary in output
    assert "== 1 event(s) reached the bus demo-bus ==\n- demo.orders / OrderEvent: {\"data\":\"hello" in output
    assert output.rstrip().endswith("== 0 record(s) in demo-quarantine ==")
    # log lines are short lines, never JSON documents or EMF
    assert not [line for line in output.splitlines() if line.lstrip().startswith("{")]


def test_the_demo_prints_the_same_report_on_every_run():
    assert without_run_details(run_demo()) == without_run_details(run_demo())
