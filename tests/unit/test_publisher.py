"""The publisher against a scripted service: every entry confirmed or reported, never both."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.core.codes import DEADLINE_EXCEEDED, ENTRY_TOO_LARGE, GROUP_BLOCKED
from forwarder.core.items import Entry, Filtered, Rejected
from forwarder.publish.options import PublishOptions
from forwarder.publish.publisher import Publisher
from forwarder_testing.fake_time import FakeTime
from forwarder_testing.service import OK, NoJitter, ScriptedService, make_entry

RETRYABLE = ["InternalFailure", "ThrottlingException"]
FINAL = ["AccessDeniedException", "InvalidArgument", "MalformedDetail"]
ANSWERS = st.sampled_from([OK, OK, OK, *RETRYABLE, *FINAL])
MAX_BYTES = 2000
ATTEMPTS = 4


def publisher_for(service, max_attempts=ATTEMPTS, max_concurrency=4, runtime=None):
    options = PublishOptions(
        max_request_bytes=service.max_bytes,
        max_concurrency=max_concurrency,
        max_attempts=max_attempts,
        rng=NoJitter(),
    )
    return Publisher(service, options, runtime=runtime)


def expected_fate(script: list[str], max_attempts: int) -> tuple[bool, int]:
    """(confirmed?, times sent) for one ungrouped entry under its script."""
    for attempt in range(max_attempts):
        answer = script[attempt] if attempt < len(script) else OK
        if answer == OK:
            return True, attempt + 1
        if answer not in RETRYABLE:
            return False, attempt + 1
    return False, max_attempts


batches = st.lists(
    st.tuples(st.integers(min_value=0, max_value=600), st.lists(ANSWERS, max_size=5)), min_size=0, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(batches)
def test_every_entry_is_confirmed_or_reported_never_both(batch):
    service = ScriptedService(MAX_BYTES, {key: script for key, (_, script) in enumerate(batch)})
    entries = [make_entry(key, padding=pad) for key, (pad, _) in enumerate(batch)]
    publication = publisher_for(service).publish(entries)

    assert len(publication.outcomes) == len(entries)
    for key, (outcome, (_, script)) in enumerate(zip(publication.outcomes, batch, strict=True)):
        confirmed, sends = expected_fate(script, ATTEMPTS)
        assert outcome.confirmed is confirmed
        assert (outcome.error_code is None) is confirmed
        assert service.sends[key] == sends == outcome.attempts
    # an entry EventBridge accepted is never sent again
    assert len(service.accepted) == len(set(service.accepted))
    assert {k for k, o in enumerate(publication.outcomes) if o.confirmed} == set(service.accepted)
    assert publication.requests == len(service.requests)
    assert publication.retries == sum(service.sends.values()) - len(service.sends)


fifo_batches = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.lists(ANSWERS, max_size=4)), min_size=1, max_size=30
)


@settings(max_examples=150, deadline=None)
@given(fifo_batches)
def test_fifo_groups_go_in_order_and_stop_at_a_failure(batch):
    service = ScriptedService(MAX_BYTES, {key: script for key, (_, script) in enumerate(batch)})
    entries = [make_entry(key, group=group) for key, (group, _) in enumerate(batch)]
    outcomes = publisher_for(service).publish(entries).outcomes

    for group in {g for g, _ in batch}:
        keys = [k for k, (g, _) in enumerate(batch) if g == group]
        fates = [outcomes[k].confirmed for k in keys]
        # confirmed records form a prefix of the group; everything after the first failure is reported
        first_failure = fates.index(False) if False in fates else len(fates)
        assert all(fates[:first_failure]) and not any(fates[first_failure:])
        for later in keys[first_failure + 1 :]:
            assert outcomes[later].error_code == GROUP_BLOCKED
            assert service.sends[later] == 0  # never sent
        # each record of the group was first sent only after the one before it was accepted
        first_sends = [_first_request(service, k) for k in keys[: first_failure + 1]]
        accepted_at = [_accepting_request(service, k) for k in keys[:first_failure]]
        for before, after in zip(accepted_at, first_sends[1:], strict=False):
            assert before < after


def _first_request(service: ScriptedService, key: int) -> int:
    return next(i for i, request in enumerate(service.requests) if key in request)


def _accepting_request(service: ScriptedService, key: int) -> int:
    return max(i for i, request in enumerate(service.requests) if key in request)


def test_an_entry_too_large_alone_is_reported_and_never_sent():
    service = ScriptedService(MAX_BYTES, {})
    entries = [make_entry(0), make_entry(1, padding=MAX_BYTES), make_entry(2)]
    outcomes = publisher_for(service).publish(entries).outcomes
    assert [o.confirmed for o in outcomes] == [True, False, True]
    assert outcomes[1].error_code == ENTRY_TOO_LARGE and "bytes" in outcomes[1].error_message
    assert 1 not in service.sends


def test_a_rejected_record_blocks_the_rest_of_its_group():
    service = ScriptedService(MAX_BYTES, {})
    items = [make_entry(0, "g"), Rejected("InvalidRecord", "bad data", "g"), make_entry(2, "g"), make_entry(3, "h")]
    outcomes = publisher_for(service).publish(items).outcomes
    assert [o.error_code for o in outcomes] == [None, "InvalidRecord", GROUP_BLOCKED, None]
    assert sorted(service.accepted) == [0, 3]


def test_a_hanging_endpoint_cannot_hold_the_publisher_past_its_deadline():
    time = FakeTime()

    def hang(entries, deadline):
        time.sleep(10)  # answers 10 virtual seconds later, long after the deadline
        return {"Entries": [{"EventId": "late"} for _ in entries]}

    options = PublishOptions(max_request_bytes=MAX_BYTES, max_concurrency=2, max_attempts=3)
    publisher = Publisher(hang, options, runtime=time.runtime())
    started = time.clock()
    outcomes = publisher.publish([make_entry(k) for k in range(30)], deadline=time.clock() + 0.3).outcomes
    elapsed = time.clock() - started
    assert elapsed < 2  # returned at the deadline, not when the endpoint answered
    assert all(o.error_code == DEADLINE_EXCEEDED for o in outcomes)


def test_retries_stop_at_the_deadline_with_the_last_error():
    time = FakeTime()
    service = ScriptedService(MAX_BYTES, {0: ["ThrottlingException"] * 100})
    options = PublishOptions(max_request_bytes=MAX_BYTES, max_concurrency=2, max_attempts=20, rng=random.Random(3))
    publisher = Publisher(service, options, runtime=time.runtime())
    outcome = publisher.publish([make_entry(0)], deadline=time.clock() + 0.5).outcomes[0]
    assert not outcome.confirmed
    assert outcome.error_code in {"ThrottlingException", DEADLINE_EXCEEDED}
    assert "ThrottlingException" in outcome.error_message or outcome.error_code == "ThrottlingException"
    assert 1 < service.sends[0] < 20


def test_a_filtered_record_has_that_one_outcome_even_when_the_deadline_cuts_the_rest():
    # A filtered record is done before anything is sent: it must not be reported as cut off by the deadline
    # (two outcomes), and the rest of its FIFO group goes on past it.
    time = FakeTime()

    def hang(entries, deadline):
        time.sleep(10)
        return {"Entries": [{"EventId": "late"} for _ in entries]}

    options = PublishOptions(max_request_bytes=MAX_BYTES, max_concurrency=2, max_attempts=3)
    items = [make_entry(0, "g"), Filtered(), make_entry(2, "g")]
    outcomes = Publisher(hang, options, runtime=time.runtime()).publish(items, deadline=time.clock() + 0.3).outcomes
    assert (outcomes[1].filtered, outcomes[1].error_code, outcomes[1].attempts) == (True, None, 0)
    assert outcomes[1].settled and not outcomes[1].failed
    assert [o.error_code for o in (outcomes[0], outcomes[2])] == [DEADLINE_EXCEEDED, GROUP_BLOCKED]

    service = ScriptedService(MAX_BYTES, {})
    outcomes = publisher_for(service).publish([make_entry(0, "g"), Filtered(), make_entry(2, "g")]).outcomes
    assert [(o.confirmed, o.filtered) for o in outcomes] == [(True, False), (False, True), (True, False)]
    assert sorted(service.accepted) == [0, 2]


def test_nothing_to_publish():
    service = ScriptedService(MAX_BYTES, {})
    assert publisher_for(service).publish([]).outcomes == []
    assert service.requests == []


class QuarantineLog:
    """Stands for the quarantine queue: remembers what it took, or refuses everything."""

    def __init__(self, refuse: bool = False):
        self.refuse = refuse
        self.taken: list[tuple[int, str]] = []

    def __call__(self, index: int, code: str, message: str, deadline: float) -> None:
        if self.refuse:
            raise ConnectionError("queue unreachable")
        self.taken.append((index, code))


def test_poison_is_quarantined_and_its_group_goes_on():
    service = ScriptedService(MAX_BYTES, {0: ["MalformedDetail"], 3: ["InvalidArgument"]})
    items = [make_entry(0, "g"), make_entry(1, "g"), Rejected("InvalidRecord", "bad base64", "h"), make_entry(3)]
    quarantine = QuarantineLog()
    publication = publisher_for(service).publish(items, quarantine=quarantine)
    outcomes = publication.outcomes
    assert sorted(quarantine.taken) == [(0, "MalformedDetail"), (2, "InvalidRecord"), (3, "InvalidArgument")]
    assert [o.quarantined for o in outcomes] == [True, False, True, True]
    assert all(o.settled for o in outcomes)
    assert outcomes[1].confirmed  # the group went on after its poison record was moved aside
    assert publication.quarantined == 3


def test_setup_errors_are_not_quarantined():
    # AccessDenied speaks of the deployment, not the record: quarantining would sweep healthy records aside.
    service = ScriptedService(MAX_BYTES, {0: ["AccessDeniedException"]})
    quarantine = QuarantineLog()
    outcome = publisher_for(service).publish([make_entry(0)], quarantine=quarantine).outcomes[0]
    assert quarantine.taken == [] and not outcome.settled


def test_a_failed_quarantine_reports_the_record_and_blocks_its_group():
    service = ScriptedService(MAX_BYTES, {0: ["MalformedDetail"]})
    outcomes = publisher_for(service).publish(
        [make_entry(0, "g"), make_entry(1, "g")], quarantine=QuarantineLog(refuse=True)
    ).outcomes
    assert not outcomes[0].settled and "quarantine failed: ConnectionError" in outcomes[0].error_message
    assert outcomes[1].error_code == GROUP_BLOCKED
    assert 1 not in service.sends


def test_the_entries_an_answer_sends_back_are_retried_together():
    # With real jitter: one draw per answer, so the 10 entries of a request answered InternalFailure go out
    # again as one request, as a request retried whole would, not as up to 10 requests of their own.
    service = ScriptedService(MAX_BYTES, {key: ["InternalFailure"] for key in range(10)})
    options = PublishOptions(max_request_bytes=MAX_BYTES, max_concurrency=4, max_attempts=ATTEMPTS,
                             rng=random.Random(7))
    publisher = Publisher(service, options, runtime=FakeTime().runtime())
    publication = publisher.publish([make_entry(key) for key in range(10)])
    assert all(outcome.confirmed for outcome in publication.outcomes)
    assert [sorted(request) for request in service.requests] == [list(range(10))] * 2


def test_a_quarantine_still_running_at_the_deadline_leaves_its_record_reported_for_good():
    time = FakeTime()

    def slow_quarantine(index, code, message, deadline):
        time.sleep(5)  # answers after the deadline: too late to count

    service = ScriptedService(MAX_BYTES, {0: ["MalformedDetail"]})
    publisher = publisher_for(service, runtime=time.runtime())
    publication = publisher.publish([make_entry(0), make_entry(1)], time.clock() + 0.3, slow_quarantine)
    poison, healthy = publication.outcomes
    assert healthy.confirmed
    assert not poison.settled and poison.error_code == DEADLINE_EXCEEDED
    assert "quarantine" in poison.error_message and "MalformedDetail" in poison.error_message
    time.sleep(5)  # the quarantine lands now; the outcome publish returned stands
    assert not poison.quarantined and poison.error_code == DEADLINE_EXCEEDED


class RacingTime(FakeTime):
    """Work that finishes just as a wait times out, unseen by that wait, as with real threads: the last
    wait before the deadline returns nothing, though what finished at the deadline is done by then."""

    def wait(self, futures, timeout):
        limit = float("inf") if timeout is None else self.now + timeout
        done = super().wait(futures, timeout)
        if self.now < limit:
            return done
        self._advance(limit)  # all that finishes by then does, and this wait saw none of it
        return set()


def test_what_finishes_as_the_deadline_comes_is_settled_by_its_answer():
    # GIVEN a request and a quarantine send that both finish exactly at the deadline
    time = RacingTime()
    deadline = time.clock() + 0.3
    taken = []

    def quarantine(index, code, message, limit):
        time.sleep(deadline - time.clock())
        taken.append(index)  # the queue took it

    def service(entries, limit):
        time.sleep(0.3 if "late" in entries[0]["Detail"] else 0)
        return {"Entries": [{"ErrorCode": "MalformedDetail"} if "poison" in e["Detail"] else {"EventId": "e"}
                            for e in entries]}

    publisher = Publisher(service, PublishOptions(MAX_BYTES, 4, ATTEMPTS, rng=NoJitter()), runtime=time.runtime())
    poison = Entry({"Source": "s", "DetailType": "t", "Detail": '{"poison": 1}'}, MAX_BYTES // 2)
    late = Entry({"Source": "s", "DetailType": "t", "Detail": '{"late": 1}'}, MAX_BYTES // 2)
    # WHEN publishing them, one request each (together they are too large for one)
    publication = publisher.publish([poison, late], deadline, quarantine)
    # THEN each has the outcome its answer says: moved aside (and not also reported), and confirmed
    assert taken == [0]
    assert publication.outcomes[0].quarantined and publication.outcomes[0].settled
    assert publication.outcomes[1].confirmed


def test_a_clock_given_alone_is_the_time_line_of_the_deadline():
    # GIVEN a clock already past the deadline, and the real sleep and threads
    service = ScriptedService(MAX_BYTES, {})
    publisher = Publisher(service, PublishOptions(MAX_BYTES, 2, ATTEMPTS), clock=lambda: 100.0)
    # WHEN publishing THEN nothing is sent, and the entry is reported at once
    outcome = publisher.publish([make_entry(0)], deadline=50.0).outcomes[0]
    assert outcome.error_code == DEADLINE_EXCEEDED and service.requests == []
