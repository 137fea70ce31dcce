"""Reading each entry of an answer, written out for speed, gives what the plain comprehensions gave, for any value."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.publish import answers, concurrency
from forwarder.publish.concurrency import CLEAN, THROTTLED, THROTTLING_CODES

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
