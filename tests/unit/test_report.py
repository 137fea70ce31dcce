"""Which failures the handler logs one by one: a bounded choice that still shows every kind of failure."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.core.outcomes import Outcome
from forwarder.function.report import failures_to_log

CODES = [None, "InternalFailure", "ThrottlingException", "MalformedDetail", "DeadlineExceeded"]
outcomes = st.lists(
    st.one_of(
        st.builds(Outcome, event_id=st.just("id")),  # confirmed
        st.builds(Outcome, error_code=st.sampled_from(CODES), quarantined=st.booleans()),
    ),
    max_size=300,
)


@settings(max_examples=200, deadline=None)
@given(outcomes, st.integers(min_value=0, max_value=20))
def test_at_most_limit_failures_in_batch_order_every_kind_first(batch, limit):
    chosen = failures_to_log(batch, limit)
    failed = [i for i, outcome in enumerate(batch) if not outcome.confirmed]
    assert chosen == sorted(set(chosen))  # batch order, no repeats
    assert set(chosen) <= set(failed)
    assert len(chosen) == min(limit, len(failed))  # as many as allowed
    kinds = {(batch[i].error_code, batch[i].quarantined) for i in failed}
    shown = {(batch[i].error_code, batch[i].quarantined) for i in chosen}
    assert len(shown) == min(len(kinds), limit)  # a flood of one kind hides no other kind


def test_a_filtered_record_is_settled_neither_forwarded_nor_failed():
    from forwarder.function.report import batch_response, summarize
    from forwarder.records.record import SourceRecord

    outcomes = [Outcome(event_id="e-1"), Outcome(filtered=True), Outcome(error_code="InternalFailure")]
    records = [SourceRecord(item_id=f"m-{i}", body="{}") for i in range(3)]
    assert batch_response(records, outcomes) == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    summary = summarize(outcomes)
    assert (summary.forwarded, summary.filtered, summary.failed, summary.failures_by_code) == (
        1, 1, 1, {"InternalFailure": 1})
    assert failures_to_log(outcomes, 10) == [2]


@given(st.builds(Outcome, event_id=st.none() | st.text(max_size=2), success_code=st.none() | st.text(max_size=2),
                 quarantined=st.booleans(), filtered=st.booleans()))
def test_settled_and_failed_read_as_their_definitions_by_confirmed(outcome):
    # (written out in the properties, as the report reads them once per record)
    assert outcome.settled == (outcome.confirmed or outcome.quarantined or outcome.filtered)
    assert outcome.failed == (not (outcome.confirmed or outcome.filtered))
