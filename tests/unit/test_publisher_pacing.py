"""The publisher below one request in flight, on a fake clock: requests go out a token apart, the rate is kept
across calls (warm invocations), and pacing never waits past the deadline: what cannot go before it is
reported, and a batch that could not send anything before it is reported at once."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.core.codes import DEADLINE_EXCEEDED
from forwarder.publish.options import PublishOptions
from forwarder.publish.publisher import Publisher
from forwarder_testing.fake_time import FakeTime
from forwarder_testing.fault_endpoint.quota import TokenBucket
from forwarder_testing.service import make_entry

MAX_BYTES = 256 * 1024
LATENCY = 0.01  # one request in flight: 100 requests/s
REFUSED = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
           "ResponseMetadata": {"HTTPStatusCode": 400}}


class Quota:
    """Refuses the first `refusals` requests whole, then accepts everything; answers LATENCY after each send."""

    def __init__(self, time: FakeTime, refusals: int):
        self.time, self.refusals = time, refusals
        self.sent_at: list[float] = []

    def __call__(self, entries: list[dict], deadline: float) -> dict:
        self.sent_at.append(self.time.clock())
        self.time.sleep(LATENCY)
        if self.refusals:
            self.refusals -= 1
            raise ClientError(REFUSED, "PutEvents")
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{n}"} for n in range(len(entries))]}


def throttled_down(refusals: int) -> tuple[FakeTime, Quota, Publisher]:
    """A publisher at one request in flight whose first call was refused `refusals` times before it got through."""
    time = FakeTime()
    quota = Quota(time, refusals)
    options = PublishOptions(max_request_bytes=MAX_BYTES, max_concurrency=1, max_attempts=refusals + 1,
                             rng=random.Random(7))
    publisher = Publisher(quota, options, runtime=time.runtime())
    assert publisher.publish([make_entry(0)]).outcomes[0].confirmed
    return time, quota, publisher


def test_throttling_at_one_in_flight_paces_the_requests_and_the_rate_is_kept_for_the_next_call():
    time, quota, publisher = throttled_down(16)
    rate = publisher.limit.rate
    assert rate.pacing and rate.rate < 1 / LATENCY  # below what one request in flight sends
    kept = rate.rate

    # The next invocation of this warm instance starts at the rate the last one left.
    start = time.clock()
    publication = publisher.publish([make_entry(key) for key in range(1, 41)])  # 4 requests
    assert all(outcome.confirmed for outcome in publication.outcomes)
    sends = quota.sent_at[-4:]
    assert publication.requests == 4 and sends[0] >= start
    assert sends[-1] - sends[0] >= 2 / kept  # tokens at about the kept rate (the bucket may hold one more)


def test_what_pacing_cannot_send_before_the_deadline_is_reported_and_publish_returns_by_it():
    time, quota, publisher = throttled_down(18)
    interval = 1 / publisher.limit.rate.rate  # seconds per request now
    assert interval > 1
    sends_before = len(quota.sent_at)
    deadline = time.clock() + 2.5 * interval
    publication = publisher.publish([make_entry(key) for key in range(1, 101)], deadline=deadline)  # 10 requests
    confirmed = [outcome for outcome in publication.outcomes if outcome.confirmed]
    reported = [outcome for outcome in publication.outcomes if not outcome.settled]
    assert 10 <= len(confirmed) <= 40  # a few requests' worth, not the batch
    assert all(outcome.error_code == DEADLINE_EXCEEDED for outcome in reported)
    assert len(confirmed) + len(reported) == 100
    assert time.clock() <= deadline  # never waited past it (returned as soon as no token could come in time)
    assert all(at < deadline for at in quota.sent_at[sends_before:])


def test_a_batch_whose_requests_would_all_wait_past_the_deadline_is_reported_at_once():
    time, quota, publisher = throttled_down(18)
    interval = 1 / publisher.limit.rate.rate
    sends_before = len(quota.sent_at)
    start = time.clock()
    publication = publisher.publish([make_entry(key) for key in range(1, 31)], deadline=start + interval / 4)
    assert time.clock() == start  # not a moment spent sleeping to the deadline
    assert len(quota.sent_at) == sends_before and publication.requests == 0
    assert all(outcome.error_code == DEADLINE_EXCEEDED and outcome.attempts == 0 for outcome in publication.outcomes)


class Scripted:
    """Answers each request by the next of `answers` ("refused", "entries", "clean"; clean once they run out)."""

    def __init__(self, time: FakeTime, answers: list[str]):
        self.time, self.answers = time, list(answers)
        self.sent_at: list[float] = []

    def __call__(self, entries: list[dict], deadline: float) -> dict:
        self.sent_at.append(self.time.clock())
        self.time.sleep(LATENCY)
        answer = self.answers.pop(0) if self.answers else "clean"
        if answer == "refused":
            raise ClientError(REFUSED, "PutEvents")
        code = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
        results = [dict(code) if answer == "entries" else {"EventId": f"e{n}"} for n in range(len(entries))]
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["refused", "entries", "clean"]), max_size=40),
       st.lists(st.floats(0.05, 20), min_size=1, max_size=4), st.integers(1, 60))
def test_whatever_the_throttling_no_request_goes_after_the_deadline_and_every_call_returns_by_it(
        answers, deadlines, records):
    time = FakeTime()
    send = Scripted(time, answers)
    options = PublishOptions(max_request_bytes=MAX_BYTES, max_concurrency=2, max_attempts=6, rng=random.Random(1))
    publisher = Publisher(send, options, runtime=time.runtime())
    for seconds in deadlines:  # warm invocations: the limit and the rate carry over
        deadline = time.clock() + seconds
        sent_before = len(send.sent_at)
        outcomes = publisher.publish([make_entry(key) for key in range(records)], deadline=deadline).outcomes
        assert time.clock() <= deadline + LATENCY * 1.01  # at most an answer already on its way is waited for
        assert all(at < deadline for at in send.sent_at[sent_before:])
        assert all(outcome.confirmed != outcome.failed for outcome in outcomes)


THROTTLED_ENTRY = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
ONE_IN_FLIGHT = 10 / LATENCY  # entries/s: full requests of 10, one at a time


class RandomThrottling:
    """As the soak's fault mix: each entry answered ThrottlingException at `share`, and 1 % of requests refused
    whole, at random, whatever the rate; the rest accepted, LATENCY after each send."""

    def __init__(self, time: FakeTime, share: float, seed: int):
        self.time, self.share, self.rng = time, share, random.Random(seed)
        self.accepted = 0

    def __call__(self, entries: list[dict], deadline: float) -> dict:
        self.time.sleep(LATENCY)
        if self.rng.random() < 0.01:
            raise ClientError(REFUSED, "PutEvents")
        results = [dict(THROTTLED_ENTRY) if self.rng.random() < self.share else {"EventId": "e"} for _ in entries]
        self.accepted += sum("EventId" in result for result in results)
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


class QuotaBuckets:
    """A single account's quota as the fault endpoint keeps it: token buckets of requests/s and entries/s
    holding `burst` seconds of each, on the fake clock, taken when a request arrives; answered LATENCY
    (±10 %) after."""

    def __init__(self, time: FakeTime, requests_per_second: float, entries_per_second: float, burst: float = 0.1,
                 latency: float = LATENCY):
        self.time, self.latency = time, latency
        self.requests = TokenBucket(requests_per_second, requests_per_second * burst, time.clock)
        self.entries = TokenBucket(entries_per_second, entries_per_second * burst, time.clock)
        self.jitter = random.Random(5)
        self.accepted = 0

    def __call__(self, entries: list[dict], deadline: float) -> dict:
        took = self.requests.take(1)  # taken when the request arrives, not when it is answered
        allowed = self.entries.take(len(entries)) if took else 0
        self.time.sleep(self.latency * self.jitter.uniform(0.9, 1.1))
        if not took:
            raise ClientError(REFUSED, "PutEvents")
        self.accepted += allowed
        results = [{"EventId": "e"}] * allowed + [dict(THROTTLED_ENTRY)] * (len(entries) - allowed)
        return {"FailedEntryCount": len(entries) - allowed, "Entries": results}


def forward_for(time: FakeTime, send, seconds: float, max_entries: int = 10) -> Publisher:
    """A warm instance fed 100-record batches back to back for `seconds` (what one call reports comes back
    in the next, as SQS hands it out again), with the function's defaults: 16 in flight, 6 attempts;
    `max_entries` per request (10 on a classic bus, 100 on a Custom Event Bus)."""
    options = PublishOptions(max_request_bytes=MAX_BYTES, max_concurrency=16, max_attempts=6, rng=random.Random(3),
                             max_entries=max_entries)
    publisher = Publisher(send, options, runtime=time.runtime())
    end, reported, key = time.clock() + seconds, [], 0
    while time.clock() < end:
        batch = [*reported, *(make_entry(key + n) for n in range(100 - len(reported)))]
        key += 100 - len(reported)
        outcomes = publisher.publish(batch, deadline=time.clock() + 59).outcomes
        reported = [entry for entry, outcome in zip(batch, outcomes, strict=True) if not outcome.settled]
    return publisher


@pytest.mark.parametrize("share", [0.03, 0.09, 0.15])
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("max_entries", [10, 100], ids=["classic bus", "Custom Event Bus"])
def test_random_throttling_that_no_rate_can_avoid_does_not_pace_the_instance_down(share, seed, max_entries):
    # Throttling at a share that does not fall with the rate is not a quota the instance is over: cutting the
    # rate for it only loses throughput (each cut to the floor left a 60 s invocation ~6 requests). A request
    # of a Custom Event Bus holds up to 100 entries: 9 % of them throttled is 9 entries of every request, which
    # a heavy-throttling bar of 5 entries (half a classic request) counted as a quota's (`make soak` stalled).
    time = FakeTime()
    send = RandomThrottling(time, share, seed)
    start = time.clock()
    publisher = forward_for(time, send, 20.0, max_entries)
    goodput = send.accepted / (time.clock() - start)
    rate = publisher.limit.rate
    assert not rate.pacing or rate.rate * LATENCY > 0.25
    assert goodput >= ONE_IN_FLIGHT / 4  # at least about one request in flight's worth, as before pacing


def test_a_lone_instance_a_little_over_its_quota_keeps_most_of_the_quota():
    # One request in flight at 5 ms sends 200 requests/s (2,000 entries/s); the quota lets 240 requests/s and
    # 1,400 entries/s through, with a tenth of a second of burst, as the short soak's quota does. Cold, its 16
    # requests in flight are throttled at once: their answers (to requests sent before the cut) must not cut
    # the rate one after another, and the entries retried must not go a few to a request each costing a token.
    time = FakeTime()
    send = QuotaBuckets(time, requests_per_second=240, entries_per_second=1400, latency=0.005)
    start = time.clock()
    forward_for(time, send, 10.0)
    assert send.accepted / (time.clock() - start) >= 0.8 * 1400
