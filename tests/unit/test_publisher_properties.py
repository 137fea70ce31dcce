"""The publisher's contract is total: whatever the peer answers, raises or delays, each item gets one outcome.

A scripted peer stands where the network is (`send`): each request gets the next answer of a script drawn
by hypothesis (any JSON value, API-shaped results of any length and content, a ClientError of any status
and code, an exception of any type, each arriving at once, a little later, or after the deadline), then
"all confirmed" when the script runs out. Quarantine sends and Pending items (a claim check's uploads)
finish at any time too, or raise. Time is virtual (testing/forwarder_testing/fake_time.py), so each example's timing
is exactly the one drawn, and costs no wall time; the same examples also run on real time and threads, where
answers are handed over on the pool's threads (scheduler.py) and land in any order. The properties:

- every item gets exactly one outcome: confirmed, quarantined or reported, never two, never none;
- a confirmed entry was confirmed by the answer to its last send: it is never sent again;
- a record counted as quarantined was taken by the quarantine before publish returned;
- outcomes do not change after publish returns, while late answers and quarantines land;
- publish never raises.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import astuple, dataclass, field
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError, ReadTimeoutError
from botocore.parsers import ResponseParserError
from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.core.items import Entry, Pending, Rejected
from forwarder.publish.answers import MAX_PEER_CODE, MAX_PEER_TEXT
from forwarder.publish.options import PublishOptions
from forwarder.publish.publisher import Publisher
from forwarder.publish.runtime import KeptPool, Runtime
from forwarder_testing.fake_time import FakeTime
from forwarder_testing.service import NoJitter, make_entry

DEADLINE_SECONDS = 0.08
LATE = "late"  # after the deadline
DELAYS = st.sampled_from([0.0, 0.0, 0.0, 0.005, LATE])


class StrBreaks(Exception):  # noqa: N818 - named for what it does
    def __str__(self) -> str:
        raise RuntimeError("no text")


class NotAnException(BaseException):
    pass


EXCEPTIONS = [
    lambda: ValueError("bad"), lambda: KeyError("Entries"), lambda: AttributeError("get"), lambda: TypeError("x"),
    lambda: RuntimeError("x"), lambda: ConnectionResetError(), lambda: TimeoutError(), lambda: RecursionError(),
    lambda: EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
    lambda: ReadTimeoutError(endpoint_url="http://127.0.0.1:9"), lambda: ResponseParserError("unreadable"),
    lambda: ParamValidationError(report="refused"), lambda: SystemExit(1), lambda: KeyboardInterrupt(),
    lambda: StrBreaks(), lambda: NotAnException(), lambda: ConnectionResetError("x" * 200_000),
]
# The keys the publisher reads, and one it does not.
KEYS = st.sampled_from(["Entries", "EventId", "SuccessCode", "ErrorCode", "a"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)
CODES = ["InternalFailure", "ThrottlingException", "MalformedDetail", "InvalidArgument", "AccessDeniedException",
         "ValidationException", "SerializationException", ""]
# A peer's text: short, or far longer than any log line may be (answers.bounded keeps it out of them).
PEER_TEXT = st.one_of(st.text(max_size=4), st.builds(lambda char, count: char * count, st.characters(),
                                                      st.sampled_from([1025, 5000, 300_000])))
# One entry's result: "ok" (an EventId of the peer's), an error code, any JSON value at all, or a code and
# message of any length (a retryable code among them, so that long texts reach retries too).
RESULTS = st.one_of(st.just("ok"), st.just("ok"), st.sampled_from(CODES), JSON, st.fixed_dictionaries(
    {"ErrorCode": st.one_of(st.sampled_from(CODES), PEER_TEXT), "ErrorMessage": PEER_TEXT}))
STATUSES = st.one_of(
    st.sampled_from([400, 403, 413, 429, 500, 503]), st.integers(-1, 999), st.none(), st.text(max_size=3)
)
ANSWERS = st.one_of(
    st.tuples(st.just("entries"), st.lists(RESULTS, max_size=4), st.sampled_from([0, 0, 0, -1, 1]), DELAYS),
    st.tuples(st.just("json"), JSON, DELAYS),
    st.tuples(st.just("client_error"), STATUSES, st.one_of(st.sampled_from(CODES), PEER_TEXT), PEER_TEXT, DELAYS),
    st.tuples(st.just("raise"), st.sampled_from(EXCEPTIONS), DELAYS),
)
# A quarantine call: how long it takes, and whether it raises.
QUARANTINES = st.tuples(DELAYS, st.sampled_from([None, None, ConnectionError, SystemExit]))
ITEMS = st.lists(
    st.tuples(
        st.sampled_from(["entry", "entry", "entry", "poison", "rejected", "pending"]),
        st.sampled_from([None, None, "a", "b"]),
        DELAYS,  # a pending item's preparation time
        st.booleans(),  # a pending item's preparation raises
    ),
    max_size=25,
)


@dataclass
class Peer:
    """The scripted network: answers, quarantine and preparations, all remembered, on the test's time."""

    time: FakeTime | RealTime
    deadline: float
    answers: list[Any]
    quarantines: list[Any]
    sends: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))  # key -> its result, per send
    taken: list[tuple[int, float]] = field(default_factory=list)  # (index, when the quarantine took it)

    def wait(self, delay: Any) -> None:
        self.time.sleep(max(0.0, self.deadline - self.time.clock() + 0.02) if delay == LATE else delay)

    def send(self, entries: list[dict], deadline: float) -> Any:
        number = sum(len(given) for given in self.sends.values())
        answer = self.answers.pop(0) if self.answers else ("entries", [], 0, 0.0)
        keys = [json.loads(entry["Detail"])["key"] for entry in entries]
        response = self._response(answer, keys, number)
        results = response.get("Entries") if isinstance(response, dict) else None
        matched = isinstance(results, list) and len(results) == len(keys)
        for position, key in enumerate(keys):  # what this answer says of each key, if it can be read
            self.sends[key].append(results[position] if matched else None)
        self.wait(answer[-1])
        if isinstance(response, BaseException):
            raise response
        return response

    @staticmethod
    def _response(answer: Any, keys: list[int], number: int) -> Any:
        """The answer to return, or the exception to raise; "ok" results get an EventId unique to this send."""
        kind = answer[0]
        if kind == "json":
            return answer[1]
        if kind == "raise":
            return answer[1]()
        if kind == "client_error":
            _, status, code, message, _ = answer
            metadata = {"HTTPStatusCode": status}
            return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": metadata}, "PutEvents")
        results = answer[1] or ["ok"]
        entries = []
        for position in range(max(0, len(keys) + answer[2])):
            result = results[position % len(results)]
            if result == "ok":
                key = keys[position] if position < len(keys) else "extra"
                entries.append({"EventId": f"e{key}-{number}"})
            elif isinstance(result, str) and result in CODES:
                entries.append({"ErrorCode": result, "ErrorMessage": "scripted"})
            else:
                entries.append(result)
        return {"FailedEntryCount": 0, "Entries": entries}

    def quarantine(self, index: int, code: str, message: str, deadline: float) -> None:
        delay, raises = self.quarantines.pop(0) if self.quarantines else (0.0, None)
        self.wait(delay)
        if raises is not None:
            raise raises("queue refused")
        self.taken.append((index, self.time.clock()))

    def prepare(self, key: int, group: str | None, delay: Any, raises: bool) -> Entry:
        self.wait(delay)
        if raises:
            raise ConnectionError("upload failed")
        return make_entry(key, group)

    def settle_down(self) -> None:
        """Let every late send, quarantine and preparation finish (they all end by the deadline's + 0.02 s)."""
        self.time.sleep(max(0.0, self.deadline - self.time.clock()) + 0.1)


def build_items(peer: Peer, specs: list[tuple], pool: Executor) -> list[Entry | Rejected | Pending]:
    items: list[Entry | Rejected | Pending] = []
    for key, (kind, group, delay, raises) in enumerate(specs):
        if kind == "entry":
            items.append(make_entry(key, group))
        elif kind == "poison":
            items.append(Rejected("InvalidRecord", "unreadable", group))
        elif kind == "rejected":
            items.append(Rejected("SomethingElse", "not poison", group))
        else:
            future = pool.submit(peer.prepare, key, group, delay, raises)
            items.append(Pending(future, group, "PreparationFailed", "preparing it"))
    return items


class RealTime:
    """Real time and threads where the tests above take virtual ones: answers are handed over on the pool's
    threads while the call's thread waits on its timers, and late ones land after publish returned."""

    def runtime(self) -> Runtime:
        return Runtime()

    def executor(self, workers: int) -> Executor:
        return ThreadPoolExecutor(workers)

    def clock(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class KeptPoolTime(RealTime):
    """Real time and threads, every call on the one pool the handler keeps across its invocations (`KeptPool`):
    a late answer of one example's call may still run when the next call starts."""

    kept = KeptPool()

    def runtime(self) -> Runtime:
        return Runtime(executor_factory=self.kept)


@settings(max_examples=80, deadline=None)
@given(specs=ITEMS, answers=st.lists(ANSWERS, max_size=12), quarantines=st.lists(QUARANTINES, max_size=6),
       with_quarantine=st.booleans())
def test_every_item_gets_one_outcome_that_never_changes_whatever_the_peer_does(
    specs, answers, quarantines, with_quarantine
):
    check_every_item_gets_one_outcome(FakeTime(), specs, answers, quarantines, with_quarantine)


@settings(max_examples=30, deadline=None)
@given(specs=ITEMS, answers=st.lists(ANSWERS, max_size=12), quarantines=st.lists(QUARANTINES, max_size=6),
       with_quarantine=st.booleans())
def test_the_same_on_real_threads(specs, answers, quarantines, with_quarantine):
    check_every_item_gets_one_outcome(RealTime(), specs, answers, quarantines, with_quarantine)


@settings(max_examples=30, deadline=None)
@given(specs=ITEMS, answers=st.lists(ANSWERS, max_size=12), quarantines=st.lists(QUARANTINES, max_size=6),
       with_quarantine=st.booleans())
def test_the_same_on_a_pool_kept_across_calls(specs, answers, quarantines, with_quarantine):
    check_every_item_gets_one_outcome(KeptPoolTime(), specs, answers, quarantines, with_quarantine)


def check_every_item_gets_one_outcome(time: FakeTime | RealTime, specs, answers, quarantines, with_quarantine):
    deadline = time.clock() + DEADLINE_SECONDS
    peer = Peer(time, deadline, list(answers), list(quarantines))
    options = PublishOptions(max_request_bytes=2000, max_concurrency=3, max_attempts=3, rng=NoJitter())
    items = build_items(peer, specs, time.executor(4))
    publication = Publisher(peer.send, options, runtime=time.runtime()).publish(
        items, deadline=deadline, quarantine=peer.quarantine if with_quarantine else None
    )
    snapshot = [astuple(outcome) for outcome in publication.outcomes]
    returned = time.clock()
    taken_by_then = {index for index, when in peer.taken if when <= returned}
    peer.settle_down()

    outcomes = publication.outcomes
    assert len(outcomes) == len(items)
    for index, outcome in enumerate(outcomes):
        # exactly one outcome
        assert not (outcome.confirmed and outcome.quarantined)
        assert outcome.confirmed == (outcome.error_code is None)
        if not outcome.confirmed:
            assert isinstance(outcome.error_code, str) and outcome.error_code
            assert isinstance(outcome.error_message, str)
            # whatever the peer said, bounded: a code, and a message of a few such texts and their wording
            assert len(outcome.error_code) <= MAX_PEER_CODE + 40
            assert len(outcome.error_message) <= 3 * MAX_PEER_TEXT
        if outcome.quarantined:
            assert with_quarantine and index in taken_by_then
        if outcome.confirmed:
            # confirmed by the answer to its last send (its own result, by position): never sent again after that
            last = peer.sends[index][-1] if peer.sends[index] else None
            assert isinstance(last, dict)
            assert (last.get("EventId") or None, last.get("SuccessCode") or None) == (
                outcome.event_id, outcome.success_code
            )
    # nothing changed after publish returned, though late answers and quarantines landed since
    assert [astuple(outcome) for outcome in outcomes] == snapshot
    assert publication.retries == sum(max(0, outcome.attempts - 1) for outcome in outcomes)
    assert publication.requests <= sum(len(given) for given in peer.sends.values())
