"""The send rate below one request in flight: on the runtime's clock, never sleeping, never below its floor."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forwarder.publish.pacing import BETA, FLOOR_RATE, RECOVERY_SECONDS, REFUSED_BETA, SendRate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def paced(round_trip: float = 0.01, refused: bool = False) -> tuple[SendRate, Clock]:
    clock = Clock()
    rate = SendRate(clock)
    rate.answered(round_trip)
    rate.throttled(refused)
    return rate, clock


def test_it_is_off_until_throttled_and_then_starts_below_one_request_per_round_trip():
    clock = Clock()
    rate = SendRate(clock)
    assert not rate.pacing and rate.rate is None
    assert rate.take() == 0.0  # nothing held back
    rate.answered(0.01)
    rate.throttled()
    assert rate.pacing and rate.rate == pytest.approx(BETA * 100)
    refused, _ = paced(0.01, refused=True)
    assert refused.rate == pytest.approx(REFUSED_BETA * 100)


def test_every_throttled_answer_cuts_it_down_to_the_floor_and_no_further():
    rate, _ = paced(0.01)
    rates = [rate.rate]
    for _ in range(60):
        rate.answered(0.01)
        rate.throttled()
        rates.append(rate.rate)
    assert all(later < earlier for earlier, later in zip(rates, rates[1:12], strict=False))
    assert rates[-1] == FLOOR_RATE


def test_tokens_come_at_the_rate_and_the_wait_says_when():
    rate, clock = paced(0.1)  # one in flight: 10 requests/s; paced at 7
    sent = []
    while clock.now < 1010.0:
        wait = rate.take()
        if wait == 0.0:
            sent.append(clock.now)
        else:
            assert wait > 0
            clock.now += wait
    assert len(sent) == pytest.approx(10 * rate.rate, abs=rate.rate + 1)  # the bucket holds a second's worth


def test_clean_answers_grow_it_back_never_cut_it_and_end_pacing_past_one_request_per_round_trip():
    rate, clock = paced(0.1)
    before = rate.rate
    for _ in range(200):
        clock.now += 0.25
        rate.answered(0.1)
        rate.clean()
        if not rate.pacing:
            break
        assert rate.rate >= before
        before = rate.rate
    assert not rate.pacing  # past 10 requests/s, the in-flight limit takes over again
    assert clock.now - 1000.0 >= RECOVERY_SECONDS  # back to the throttled rate (here one in flight's) takes that long
    assert rate.take() == 0.0


def test_it_never_sleeps():
    rate, clock = paced(1.0)  # paced at 0.7 requests/s
    rate.take()
    assert rate.take() > 0  # the scheduler is told to wait; botocore's acquire would have slept here
    with pytest.raises(AssertionError):
        rate._clock.sleep(1)


EVENTS = st.lists(st.tuples(st.sampled_from(["throttled", "refused", "clean", "take"]),
                            st.floats(0, 30), st.floats(0.001, 5)), max_size=80)


@given(EVENTS)
def test_any_sequence_of_answers_and_times_keeps_the_rate_at_or_above_its_floor_and_waits_finite(events):
    clock = Clock()
    rate = SendRate(clock)
    for kind, gap, round_trip in events:
        clock.now += gap
        if kind == "take":
            wait = rate.take()
            assert wait == 0.0 or 0 < wait <= 1 / FLOOR_RATE
            continue
        rate.answered(round_trip)
        if kind == "clean":
            rate.clean()
        else:
            rate.throttled(refused=kind == "refused")
        assert rate.rate is None or rate.rate >= FLOOR_RATE
        assert rate.pacing or rate.take() == 0.0
