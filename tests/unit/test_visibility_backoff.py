"""The visibility backoff of reported SQS records, and its settings: bounds that hold for any input."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from forwarder.config.settings import (
    DEFAULT_VISIBILITY_BACKOFF_BASE_SECONDS,
    DEFAULT_VISIBILITY_BACKOFF_MAX_SECONDS,
    MAX_VISIBILITY_BACKOFF_SECONDS,
    ConfigurationError,
    Settings,
)
from forwarder.stages.visibility import SQS_MAX_VISIBILITY_SECONDS, Backoff
from forwarder.targets.buses import ClassicBus, CustomBus, RawBus

CUSTOM_BUS_WINDOW_SECONDS = CustomBus.dedup_window_seconds

REQUIRED = {"EVENT_SOURCE": "my.app", "EVENT_DETAIL_TYPE": "OrderPlaced"}
CUSTOM_BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"

caps = st.integers(1, MAX_VISIBILITY_BACKOFF_SECONDS)
receives = st.integers(-5, 10_000)
draws = st.floats(0, 1, exclude_max=True)
elapsed = st.floats(0, 900)  # the longest function timeout
first_receive = st.none() | st.floats(0, 86_400 * 14)  # SQS keeps a message at most 14 days


ANY_BUS = st.booleans()


@st.composite
def backoffs(draw, custom_bus=ANY_BUS) -> Backoff:
    cap = draw(caps)
    return Backoff.within(draw(st.integers(1, cap)), cap, CUSTOM_BUS_WINDOW_SECONDS if draw(custom_bus) else None)


@given(backoffs(), receives, draws, elapsed, first_receive)
def test_a_delay_is_whole_seconds_within_zero_and_the_cap(backoff, count, draw, spent, since_first):
    delay = backoff.delay(count, draw, spent, since_first)
    assert isinstance(delay, int)
    assert 0 <= delay <= backoff.ceiling(count) <= backoff.cap < SQS_MAX_VISIBILITY_SECONDS


@given(backoffs(), st.integers(1, 200))
def test_the_ceiling_grows_with_the_receive_count_up_to_the_cap(backoff, count):
    assert backoff.ceiling(1) == backoff.base
    assert backoff.ceiling(count) <= backoff.ceiling(count + 1) <= backoff.cap
    assert backoff.ceiling(count) == min(backoff.cap, backoff.base * 2 ** (count - 1))


@given(backoffs(custom_bus=st.just(True)), receives, draws, st.floats(0, 270), first_receive)
@example(Backoff(1, 31, 270), 6, 0.96875, 270.0, 0.0)  # clocks that put the first receive after the start
def test_on_a_custom_bus_a_retry_comes_back_inside_the_deduplication_window(backoff, count, draw, spent, since):
    """Counted from this invocation's start (an acceptance it may have made), and from the first receive
    while that is still inside the window (no acceptance is older)."""
    delay = backoff.delay(count, draw, spent, since)
    assert spent + delay <= CUSTOM_BUS_WINDOW_SECONDS
    if since is not None and since <= backoff.window:
        assert since + delay <= CUSTOM_BUS_WINDOW_SECONDS


@given(st.integers(1, 40), draws)
def test_full_jitter_reaches_every_second_up_to_the_ceiling(count, draw):
    backoff = Backoff(base=10, cap=240)
    assert backoff.delay(count, 0.0, 0, None) == 0
    assert backoff.delay(count, 0.999999, 0, None) == backoff.ceiling(count)


def test_defaults_keep_every_retry_inside_the_five_minute_window():
    settings = Settings.from_env(REQUIRED)
    assert (settings.visibility_backoff_max_seconds, settings.visibility_backoff_base_seconds) == (240, 10)
    assert DEFAULT_VISIBILITY_BACKOFF_MAX_SECONDS < CUSTOM_BUS_WINDOW_SECONDS
    assert DEFAULT_VISIBILITY_BACKOFF_BASE_SECONDS <= DEFAULT_VISIBILITY_BACKOFF_MAX_SECONDS


def test_off_turns_the_backoff_off():
    assert Settings.from_env(REQUIRED | {"VISIBILITY_BACKOFF_MAX_SECONDS": "off"}).visibility_backoff_max_seconds == 0


def test_a_small_cap_lowers_the_default_base():
    settings = Settings.from_env(REQUIRED | {"VISIBILITY_BACKOFF_MAX_SECONDS": "3"})
    assert (settings.visibility_backoff_max_seconds, settings.visibility_backoff_base_seconds) == (3, 3)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"VISIBILITY_BACKOFF_MAX_SECONDS": "soon"}, "VISIBILITY_BACKOFF_MAX_SECONDS"),
        ({"VISIBILITY_BACKOFF_MAX_SECONDS": "0"}, "VISIBILITY_BACKOFF_MAX_SECONDS"),
        ({"VISIBILITY_BACKOFF_MAX_SECONDS": "-5"}, "VISIBILITY_BACKOFF_MAX_SECONDS"),
        ({"VISIBILITY_BACKOFF_MAX_SECONDS": str(SQS_MAX_VISIBILITY_SECONDS)}, "VISIBILITY_BACKOFF_MAX_SECONDS"),
        ({"VISIBILITY_BACKOFF_BASE_SECONDS": "0"}, "VISIBILITY_BACKOFF_BASE_SECONDS"),
        ({"VISIBILITY_BACKOFF_MAX_SECONDS": "60", "VISIBILITY_BACKOFF_BASE_SECONDS": "61"},
         "VISIBILITY_BACKOFF_BASE_SECONDS"),
    ],
)
def test_a_wrong_visibility_setting_names_its_variable(env, variable):
    with pytest.raises(ConfigurationError, match=variable):
        Settings.from_env(REQUIRED | env)


def test_the_custom_bus_bounds_delays_by_its_window():
    # The window is the target's: a Custom Event Bus (either API) keeps one of 5 minutes, a classic bus none.
    assert CUSTOM_BUS_WINDOW_SECONDS == RawBus.dedup_window_seconds == 300
    assert ClassicBus.dedup_window_seconds is None
    assert Backoff.within(10, 240, CUSTOM_BUS_WINDOW_SECONDS).window < CUSTOM_BUS_WINDOW_SECONDS
    assert Backoff.within(10, 240, None).window is None
    assert Settings.from_env(REQUIRED | {"EVENT_BUS_NAME": CUSTOM_BUS}).custom_bus
