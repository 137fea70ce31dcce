"""The handler returns before Lambda's deadline on a Lambda-sized CPU, with a large batch that fails.

A 256 MB function gets about a seventh of one core. The handler stops publishing at the deadline
less its margin (1 s by default); whatever it does after that (logging each failure, the summary,
the metrics, the response) must fit in the margin, or Lambda times the invocation out and the whole
batch is delivered again. The handler runs in a child process under a cgroup CPU quota of that
share; the fault endpoint answers every entry with a retryable InternalFailure, from this process,
outside the quota. MAX_ATTEMPTS is at its highest so the publisher keeps retrying until the deadline.

The one timed assertion of the suite: "returned before the deadline", with the margin as slack.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from forwarder_testing.cpu_share import QuotaUnavailable, cpu_quota, run_throttled
from forwarder_testing.eventbridge_endpoint import FaultEndpoint

pytestmark = [pytest.mark.cpu_share, pytest.mark.integration]

LAMBDA_256_MB_SHARE = 256 / 1769  # Lambda's vCPU per MB
RECORDS = 10_000
REMAINING_MS = 10_000
CHILD_TIMEOUT_S = 120  # cold start and event building run unthrottled; the invocation itself ~10 s


@pytest.fixture
def failing_endpoint() -> Iterator[FaultEndpoint]:
    with FaultEndpoint(entry_faults={"InternalFailure": 1.0}, record_accepted=False) as endpoint:
        yield endpoint


@pytest.fixture
def lambda_cpu() -> Iterator[Callable[[int], None]]:
    """Moves a process into a cgroup with a 256 MB function's CPU share (removed afterwards)."""
    quota = ExitStack()
    try:
        join = quota.enter_context(cpu_quota(LAMBDA_256_MB_SHARE))
    except QuotaUnavailable as reason:
        pytest.skip(f"cannot emulate Lambda's CPU share here: {reason}")
    with quota:
        yield join


def invoke_under_quota(join: Callable[[int], None], endpoint: FaultEndpoint, tmp_path) -> tuple[dict, str]:
    """One invocation in a child process that `join` throttles once its cold start is done."""
    result_path = tmp_path / "result.json"
    log_path = tmp_path / "handler.log"
    config = {
        "env": {"AWS_ENDPOINT_URL": endpoint.url, "MAX_ATTEMPTS": "20"},
        "records": RECORDS,
        "remaining_ms": REMAINING_MS,
        "result_path": str(result_path),
    }
    command = [sys.executable, "-m", "forwarder_testing.cpu_share", json.dumps(config)]
    run_throttled(join, command, log_path, CHILD_TIMEOUT_S)
    return json.loads(result_path.read_text()), log_path.read_text()


def test_a_large_failing_batch_returns_before_the_deadline(lambda_cpu, failing_endpoint, tmp_path):
    result, log = invoke_under_quota(lambda_cpu, failing_endpoint, tmp_path)
    summary = next(json.loads(line) for line in log.splitlines() if '"batch done"' in line)
    # The case at hand: the publisher was still retrying when its deadline came, and every record is handed back.
    assert "DeadlineExceeded" in summary["failures_by_code"]
    assert result["reported"] == sum(summary["failures_by_code"].values()) == RECORDS
    overshoot_ms = result["elapsed_s"] * 1000 - REMAINING_MS
    assert overshoot_ms < 0, (
        f"the handler returned {overshoot_ms:.0f} ms after Lambda's deadline ({result['elapsed_s']:.2f} s, "
        f"{log.count(chr(10))} log lines)"
    )
