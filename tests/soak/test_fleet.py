"""`make scale`'s fleet in small: 50 instances on one quota, each one's request in flight 20 times its share.

The full run (tools/scale/fleet.py) checks the targets (throttled share, goodput, recovery); this one checks
what must hold in any run, not how fast: every record on the bus once, none lost or left reported, none
reported for running out of attempts, and every instance pacing below one request in flight.
"""

from __future__ import annotations

from tools.scale.fleet import Case, run_case

CASE = Case("50 instances, 10 ms, short", 50, 10, 20, seconds=8.0, warm_up=2.0)


def test_fifty_instances_on_one_quota_lose_nothing_and_exhaust_no_attempts():
    result = run_case(CASE)
    assert result["records"] > 50 * CASE.batch_size
    assert (result["lost"], result["still_reported"], result["duplicates"]) == (0, 0, 0)
    assert result["exhausted"] == 0
    assert result["paced_at_end"] == CASE.instances


def test_a_fleet_run_is_the_same_every_time():
    # The instances take turns on one virtual clock: a run depends on its seeds alone, not on the machine.
    case = Case("4 instances, short", 4, 10, 10, seconds=5.0, warm_up=1.0)
    first, second = run_case(case), run_case(case)
    assert first == second
    assert first["requests_per_second"] > 0
