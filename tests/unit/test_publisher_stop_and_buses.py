"""Two ways a publish call ends or splits that belong to its caller's entries, on virtual time
(testing/forwarder_testing/fake_time.py):

- the caller's `stop` (an interrupted command): nothing more is sent, what is in flight has a short grace, and
  every item still gets exactly one outcome, an unconfirmed one saying truly whether it was sent;
- a request refused whole for a bus one entry names (moto's ResourceNotFoundException): split until the entry
  at fault is alone, unless every entry of the request names that bus.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field

from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.core.codes import STOPPED
from forwarder.publish.options import PublishOptions
from forwarder.publish.publisher import Publisher
from forwarder.publish.scheduler import STOP_GRACE_SECONDS, STOP_POLL_SECONDS
from forwarder_testing.fake_time import FakeTime
from forwarder_testing.service import NoJitter, make_entry


def key_of(entry: dict) -> int:
    return json.loads(entry["Detail"])["key"]


@dataclass
class StoppingPeer:
    """Answers every request after its drawn delay, throttling the entries drawn; sets `stop` as request
    number `stop_at` goes out."""

    time: FakeTime
    stop: threading.Event
    stop_at: int
    delays: list[float]
    throttled: set[int]
    sent: dict[int, list[str]] = field(default_factory=dict)  # key -> what each send answered for it
    requests: int = 0
    stopped_at: float | None = None

    def send(self, entries: list[dict], deadline: float) -> dict:
        self.requests += 1
        if self.requests == self.stop_at:
            self.stop.set()
            self.stopped_at = self.time.clock()
        self.time.sleep(self.delays[self.requests % len(self.delays)])
        results = []
        for entry in entries:
            key = key_of(entry)
            throttle = key in self.throttled and not self.sent.get(key)  # throttled once, then confirmed
            result = {"ErrorCode": "ThrottlingException"} if throttle else {"EventId": f"e{key}-{self.requests}"}
            self.sent.setdefault(key, []).append(result.get("EventId") or "throttled")
            results.append(result)
        return {"FailedEntryCount": 0, "Entries": results}


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 80),
    stop_at=st.integers(1, 12),
    delays=st.lists(st.sampled_from([0.001, 0.01, 0.3, STOP_GRACE_SECONDS + 3]), min_size=1, max_size=5),
    throttled=st.sets(st.integers(0, 79), max_size=20),
)
def test_a_stopped_call_gives_every_item_one_outcome_that_says_truly_whether_it_was_sent(
    count, stop_at, delays, throttled
):
    time, stop = FakeTime(), threading.Event()
    peer = StoppingPeer(time, stop, stop_at, delays, throttled)
    options = PublishOptions(max_request_bytes=100_000, max_concurrency=3, max_attempts=4, rng=NoJitter())
    publication = Publisher(peer.send, options, runtime=time.runtime()).publish(
        [make_entry(key) for key in range(count)], stop=stop
    )
    returned = time.clock()
    if peer.stopped_at is not None:  # ended within the grace (and one look at the stop) after it was set
        assert returned <= peer.stopped_at + STOP_POLL_SECONDS + STOP_GRACE_SECONDS + 1e-6
    for key, outcome in enumerate(publication.outcomes):
        answers = peer.sent.get(key, [])
        if outcome.confirmed:
            assert outcome.event_id == answers[-1]
            continue
        assert outcome.error_code == STOPPED and peer.stopped_at is not None
        if outcome.error_message.startswith("not sent:"):
            assert answers == []
        elif outcome.error_message.startswith("not sent again"):
            assert answers and answers[-1] == "throttled"
        else:
            assert "may have reached the bus" in outcome.error_message and answers


@dataclass
class BusRefusingPeer:
    """moto's answer to a request naming a bus that does not exist: the whole request refused."""

    missing: set[str]
    requests: list[list[str | None]] = field(default_factory=list)

    def send(self, entries: list[dict], deadline: float) -> dict:
        buses = [entry.get("EventBusName") for entry in entries]
        self.requests.append(buses)
        if self.missing & set(buses):
            error = {"Error": {"Code": "ResourceNotFoundException", "Message": "Event bus gone does not exist."},
                     "ResponseMetadata": {"HTTPStatusCode": 400}}
            raise ClientError(error, "PutEvents")
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{key_of(entry)}"} for entry in entries]}


def publish_to(peer: BusRefusingPeer, buses: list[str | None]):
    items = [make_entry(key) for key in range(len(buses))]
    for item, bus in zip(items, buses, strict=True):
        if bus is not None:
            item.fields["EventBusName"] = bus
    options = PublishOptions(max_request_bytes=100_000, max_concurrency=4, max_attempts=3, rng=NoJitter())
    return Publisher(peer.send, options, runtime=FakeTime().runtime()).publish(items)


@settings(max_examples=60, deadline=None)
@given(buses=st.lists(st.sampled_from([None, None, "orders", "gone"]), min_size=1, max_size=40))
def test_an_entry_for_a_missing_bus_fails_alone_and_its_neighbours_are_confirmed(buses):
    publication = publish_to(BusRefusingPeer({"gone"}), buses)
    for bus, outcome in zip(buses, publication.outcomes, strict=True):
        if bus == "gone":
            assert outcome.error_code == "ResourceNotFoundException"
        else:
            assert outcome.confirmed


@given(count=st.integers(1, 40))
def test_entries_that_all_name_the_missing_bus_are_not_split(count):
    peer = BusRefusingPeer({"gone"})
    publication = publish_to(peer, ["gone"] * count)
    assert {outcome.error_code for outcome in publication.outcomes} == {"ResourceNotFoundException"}
    assert len(peer.requests) == math.ceil(count / 10)  # one refusal per request, none split
