"""`make scale` in small: a few instances, each its own process, share one quota for a few seconds per policy.

The full run (tools/scale/) checks the targets; this one checks its accounting (every record on the bus
once, none lost or left reported, by either policy), that the fixed policy is throttled far more than the
adaptive one, and that the page names both.
"""

from __future__ import annotations

import pytest

from tools.scale.report import markdown
from tools.scale.run import MODES, Plan, run

pytestmark = pytest.mark.integration

# 3 instances at up to 16 in flight, one answer per 50 ms: about 960 requests/s unthrottled, against 60.
PLAN = Plan(instances=3, seconds=3.0, batch_size=100, latency_ms=50.0, quota_rps=60.0, rounds=1)


def test_a_short_scale_run_loses_nothing_and_the_adaptive_policy_is_throttled_far_less():
    results = run(PLAN)
    fixed, adaptive = (results["phases"][mode][0] for mode in MODES)
    for phase in (fixed, adaptive):
        assert phase["records"] > 0
        assert (phase["lost"], phase["still_reported"], phase["duplicates"], phase["unknown_on_bus"]) == (0, 0, 0, 0)
        assert all(1 <= limit <= PLAN.max_concurrency for limit in phase["final_limits"])
    assert fixed["final_limits"] == [PLAN.max_concurrency] * PLAN.instances
    assert max(adaptive["final_limits"]) < PLAN.max_concurrency
    assert adaptive["throttled_share"] * 2 < fixed["throttled_share"]
    page = markdown(results)
    assert "| share of requests throttled |" in page and "Targets for the adaptive policy" in page
