"""The visibility backoff at a 256 MB function's CPU share: a 10,000-record batch that fails whole still
returns before Lambda's deadline, its visibility calls cut at a quarter of the margin (test_cpu_share.py's setup,
with the backoff on and an SQS peer that answers every call at once)."""

from __future__ import annotations

import json

import pytest

from forwarder_testing.simulation.sqs_peer import SqsPeer
from tests.integration.test_cpu_share import (  # noqa: F401 - fixtures
    RECORDS,
    REMAINING_MS,
    failing_endpoint,
    invoke_under_quota,
    lambda_cpu,
)

pytestmark = [pytest.mark.cpu_share, pytest.mark.integration]


def test_a_large_failing_batch_with_the_backoff_returns_before_the_deadline(
    lambda_cpu, failing_endpoint, tmp_path, monkeypatch  # noqa: F811
):
    with SqsPeer() as peer:
        monkeypatch.setenv("VISIBILITY_BACKOFF_MAX_SECONDS", "240")  # the child inherits the environment
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", peer.url)
        result, log = invoke_under_quota(lambda_cpu, failing_endpoint, tmp_path)
    summary = next(json.loads(line) for line in log.splitlines() if '"batch done"' in line)
    assert result["reported"] == RECORDS
    # Every reported record is counted, changed or not. How many calls fit in their quarter of the margin at this
    # CPU share depends on the machine's moment (a timing, not a guarantee); that the calls are made and
    # change the visibility is shown in test_visibility.py.
    assert summary["visibility_changed"] + summary["visibility_failed"] == RECORDS
    overshoot_ms = result["elapsed_s"] * 1000 - REMAINING_MS
    assert overshoot_ms < 0, f"returned {overshoot_ms:.0f} ms after Lambda's deadline"
