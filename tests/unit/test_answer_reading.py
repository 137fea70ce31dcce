"""Reading each entry of an answer, written out for speed, gives what the plain comprehensions gave, for any value;
and the usual result, confirmed at once, is settled as reading it field by field settles it."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import astuple

from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.core.codes import MALFORMED_RESPONSE
from forwarder.publish import answers, concurrency
from forwarder.publish.concurrency import CLEAN, THROTTLED, THROTTLING_CODES
from forwarder.publish.ledger import Ledger
from forwarder.publish.options import PublishOptions
from forwarder.publish.retry_policy import RetryPolicy
from forwarder.publish.scheduler import Scheduler
from forwarder.publish.settlement import AnswerReader, Settlement
from forwarder_testing.fake_time import FakeTime
from forwarder_testing.service import NoJitter, make_entry

_KEYS = ("ErrorCode", "EventId", "SuccessCode")
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=6)
FIELD = st.none() | st.sampled_from([*sorted(THROTTLING_CODES), "InternalFailure", "", "x" * 200]) | JSON
RESULT = st.fixed_dictionaries({}, optional={key: FIELD for key in _KEYS}) | JSON


def reference_result_fields(result):
    if not isinstance(result, dict):
        return None
    fields = [result.get(key) for key in _KEYS]
    if not all(value is None or isinstance(value, str) for value in fields):
        return None
    if fields[0] is not None and len(fields[0]) > answers.MAX_PEER_CODE:
        fields[0] = answers.bounded(fields[0], answers.MAX_PEER_CODE)
    return fields


def reference_verdict(response):
    entries = response.get("Entries") if isinstance(response, dict) else None
    if not isinstance(entries, list):
        return None
    codes = (entry.get("ErrorCode") for entry in entries if isinstance(entry, dict))
    return THROTTLED if any(isinstance(code, str) and code in THROTTLING_CODES for code in codes) else CLEAN


@settings(max_examples=500, deadline=None)
@given(RESULT)
def test_an_entrys_result_is_read_as_before(result):
    assert answers.result_fields(result) == reference_result_fields(result)


@settings(max_examples=500, deadline=None)
@given(st.fixed_dictionaries({}, optional={"Entries": st.lists(RESULT, max_size=6) | JSON}) | JSON)
def test_an_answers_verdict_on_throttling_is_read_as_before(response):
    assert concurrency._verdict_of_answer(response) == reference_verdict(response)


class EntryByEntry(AnswerReader):
    """`_read` as it was before its shortcut for the usual result: every entry's result read field by field."""

    def _read(self, indices, response):
        self._ledger.requests += 1
        self._ledger.count_attempts(indices)
        results = answers.results(response, len(indices))
        if results is None:
            message = f"the answer is not PutEvents': {answers.brief(response)}"
            for index in indices:
                self._retry_or_fail(index, MALFORMED_RESPONSE, message)
            return
        for index, result in zip(indices, results, strict=True):
            self._entry_answered(index, result)


# The usual result and its near misses (an empty or non-text EventId, a key besides it), and any result at all.
PLAIN = st.fixed_dictionaries({"EventId": st.text(max_size=3) | JSON}, optional={"SuccessCode": FIELD, "a": JSON})
REQUESTS = st.lists(st.tuples(st.lists(st.integers(0, 11), min_size=1, max_size=4, unique=True),
                              st.lists(PLAIN | PLAIN | RESULT, max_size=4), st.sampled_from([0, 0, 0, -1])),
                    max_size=6)


def read_answers(reader_class, groups, requests, with_quarantine):
    """The ledger and the scheduler's queues after `reader_class` read each answer, in turn."""
    time = FakeTime()
    items = [make_entry(key, group) for key, group in enumerate(groups)]
    options = PublishOptions(max_request_bytes=2000, max_concurrency=2, max_attempts=2, rng=NoJitter())
    policy = RetryPolicy(max_attempts=options.max_attempts)
    scheduler = Scheduler(lambda entries, deadline: None, items, options, time.runtime(), time.clock() + 10,
                          policy.coalesce_seconds)
    ledger = Ledger(items)
    quarantine = (lambda index, code, message, deadline: None) if with_quarantine else None
    settlement = Settlement(items, scheduler, ledger, policy, quarantine, 2000, options.rng, time.clock)
    reader = reader_class(settlement, scheduler, ledger, policy, options.rng, time.clock)
    for indices, results, missing in requests:
        answer = Future()
        results = results or [{"EventId": "e"}]
        entries = [results[position % len(results)] for position in range(len(indices))]
        answer.set_result({"FailedEntryCount": 0, "Entries": entries[:len(entries) + missing]})
        reader.answered(indices, answer)
    publication = ledger.close(*scheduler.left_open())
    return [astuple(outcome) for outcome in publication.outcomes], publication.requests, publication.retries, \
        scheduler._ready, scheduler._delayed


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([None, None, "a", "b"]), min_size=12, max_size=12), REQUESTS, st.booleans())
def test_the_usual_result_is_settled_as_reading_it_field_by_field_does(groups, requests, with_quarantine):
    assert read_answers(AnswerReader, groups, requests, with_quarantine) == \
        read_answers(EntryByEntry, groups, requests, with_quarantine)
