"""The in-flight limit: AIMD on throttling, within 1..MAX_CONCURRENCY, whatever the answers."""

from __future__ import annotations

from concurrent.futures import Future

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from forwarder.config.settings import ConfigurationError, Settings
from forwarder.publish.concurrency import CLEAN, THROTTLED, AdaptiveLimit, FixedLimit, in_flight_limit, verdict


def answered(response: object) -> Future:
    future: Future = Future()
    future.set_result(response)
    return future


def raised(error: BaseException) -> Future:
    future: Future = Future()
    future.set_exception(error)
    return future


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "PutEvents")


CLEAN_ANSWER = {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}, {"EventId": "2"}]}
ENTRY_THROTTLED = {"FailedEntryCount": 1, "Entries": [{"EventId": "1"}, {"ErrorCode": "ThrottlingException"}]}

# Any answer a request can end with: clean, entries throttled, refused with any code and status, a
# transport failure, a body that is not PutEvents'.
ANSWERS = st.one_of(
    st.just(answered(CLEAN_ANSWER)),
    st.just(answered(ENTRY_THROTTLED)),
    st.builds(lambda code, status: raised(client_error(code, status)),
              st.sampled_from(["ThrottlingException", "InternalException", "ValidationException", "TooManyRequests"]),
              st.sampled_from([400, 429, 500, 503])),
    st.just(raised(ConnectionResetError("reset"))),
    st.builds(answered, st.one_of(st.none(), st.text(max_size=5), st.lists(st.integers(), max_size=2))),
)


@pytest.mark.parametrize(
    ("future", "expected"),
    [
        (answered(CLEAN_ANSWER), CLEAN),
        (answered(ENTRY_THROTTLED), THROTTLED),
        (answered({"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}), CLEAN),
        (raised(client_error("ThrottlingException", 400)), THROTTLED),
        (raised(client_error("TooManyRequests", 429)), THROTTLED),  # a front end's 429, a code no SDK knows
        (raised(client_error("InternalException", 500)), None),
        (raised(ConnectionResetError()), None),
        (answered("not PutEvents'"), None),
        # A peer's ErrorCode may be any JSON value: an unhashable one raised TypeError, and publish with it.
        (answered({"Entries": [{"ErrorCode": []}, {"ErrorCode": {"a": 1}}, {"ErrorCode": 7}]}), CLEAN),
    ],
)
def test_verdict_reads_throttling_from_the_request_or_its_entries(future, expected):
    assert verdict(future) == expected


def test_the_limit_starts_at_the_ceiling_halves_on_throttled_entries_and_quarters_on_a_refused_request():
    limit = AdaptiveLimit(16)
    assert limit.limit == 16
    limit.observe(answered(ENTRY_THROTTLED), limit.round)
    assert limit.limit == 8
    limit.observe(raised(client_error("ThrottlingException", 400)), limit.round)
    assert limit.limit == 2


def test_answers_to_requests_sent_before_a_cut_do_not_cut_again():
    limit = AdaptiveLimit(16)
    sent_in = limit.round  # a whole window of requests goes out, then all come back throttled
    for _ in range(16):
        limit.observe(answered(ENTRY_THROTTLED), sent_in)
    assert limit.limit == 8


def test_clean_answers_grow_it_back_by_one_per_four_windows_up_to_the_ceiling():
    limit = AdaptiveLimit(16)
    for _ in range(4):
        limit.throttled(limit.round)
    assert limit.limit == 1
    for window in (1, 2, 4, 8):
        while limit.limit < window:
            limit.clean()
        cleans = 0
        while limit.limit == window:
            limit.observe(answered(CLEAN_ANSWER), limit.round)
            cleans += 1
        assert limit.limit == window + 1
        assert 4 * window <= cleans <= 4 * window + 3  # about four windows' worth of clean answers
    for _ in range(1000):
        limit.clean()
    assert limit.limit == 16
    for _ in range(1000):
        limit.clean()
    assert limit.limit == 16


def test_other_failures_neither_cut_nor_grow():
    limit = AdaptiveLimit(8)
    limit.throttled(limit.round)
    for future in (raised(client_error("InternalException", 500)), raised(TimeoutError()), answered(None)):
        limit.observe(future, limit.round)
    assert limit.limit == 4


@given(st.integers(1, 256), st.lists(st.tuples(ANSWERS, st.integers(-2, 0)), max_size=200))
def test_any_sequence_of_answers_keeps_the_limit_within_one_and_the_ceiling(ceiling, answers):
    limit = AdaptiveLimit(ceiling)
    for future, lag in answers:
        before, round_before = limit.limit, limit.round
        limit.observe(future, max(0, limit.round + lag))
        found = verdict(future)
        assert 1 <= limit.limit <= ceiling
        if found == THROTTLED and lag == 0:
            refused = future.exception() is not None  # the request refused whole: the quota spent, a deeper cut
            assert limit.limit == max(1, before // (4 if refused else 2))
            assert limit.round == round_before + 1
        elif found == CLEAN:
            assert limit.limit >= before
        else:
            assert limit.limit <= before


@given(st.integers(1, 256), st.lists(ANSWERS, max_size=50))
def test_the_fixed_policy_never_moves(ceiling, answers):
    limit = FixedLimit(ceiling)
    for future in answers:
        limit.observe(future, limit.round)
        assert limit.limit == ceiling


def test_concurrency_mode_is_read_from_the_environment():
    base = {"EVENT_SOURCE": "s", "EVENT_DETAIL_TYPE": "d"}
    assert Settings.from_env(base).concurrency_mode == "adaptive"
    assert Settings.from_env({**base, "CONCURRENCY_MODE": " Fixed "}).concurrency_mode == "fixed"
    assert isinstance(in_flight_limit("fixed", 4), FixedLimit)
    with pytest.raises(ConfigurationError, match="CONCURRENCY_MODE"):
        Settings.from_env({**base, "CONCURRENCY_MODE": "aimd"})


def test_the_publisher_keeps_no_more_requests_in_flight_than_the_limit_says():
    """A publisher whose limit throttling has cut sends at most that many requests at once (the limit only
    grows while these answers are clean), where the pool alone would allow MAX_CONCURRENCY."""
    import threading
    import time

    from forwarder.core.items import Entry
    from forwarder.publish.options import PublishOptions
    from forwarder.publish.publisher import Publisher

    lock, active, seen = threading.Lock(), [0], []
    publisher = Publisher(lambda fields, deadline: send(fields), PublishOptions(256 * 1024, 16, 3))

    def send(fields: list[dict]) -> dict:
        with lock:
            active[0] += 1
            seen.append((active[0], publisher.limit.limit))
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in fields]}

    for _ in range(3):
        publisher.limit.throttled(publisher.limit.round)
    assert publisher.limit.limit == 2
    items = [Entry({"Source": "s", "DetailType": "t", "Detail": "{}"}, 100) for _ in range(300)]
    assert all(outcome.confirmed for outcome in publisher.publish(items).outcomes)
    assert len(seen) == 30 and all(in_flight <= limit for in_flight, limit in seen)
    assert max(in_flight for in_flight, _ in seen) >= 2  # it did use what the limit allowed
