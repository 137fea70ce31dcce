"""The visibility calls against an SQS peer over real HTTP (the simulation's `SqsPeer`): without a deadline,
and against answers no real SQS sends."""

from __future__ import annotations

import math
import time

import pytest

from forwarder.core.outcomes import Outcome
from forwarder.net.clients import create_client
from forwarder.records.event import parse_event
from forwarder.stages.visibility import Backoff, VisibilityBackoff
from forwarder_testing.events import sqs_event
from forwarder_testing.simulation.sqs_peer import SqsPeer

pytestmark = pytest.mark.integration

REPORTED = Outcome(error_code="AccessDeniedException", attempts=1)


class HostilePeer(SqsPeer):
    """Answers every call with `answer`, whatever was asked."""

    def __init__(self, answer: dict):
        super().__init__()
        self.answer = answer

    def change_visibility(self, body: dict) -> dict:
        super().change_visibility(body)
        return self.answer


def change(peer: SqsPeer, bodies: list[str], deadline: float):
    source, records = parse_event(sqs_event(bodies))
    backoff = VisibilityBackoff(create_client("sqs", 2, endpoint_url=peer.url), Backoff(1, 5), 2)
    return backoff.change(source, records, [REPORTED] * len(records), deadline, time.monotonic())


def test_without_a_deadline_the_calls_are_made():
    """A Forwarder run without a Lambda context has no deadline (math.inf): the calls still go out."""
    with SqsPeer() as peer:
        result = change(peer, ['{"n": 1}', '{"n": 2}'], math.inf)
    assert (result.changed, result.failed, dict(result.errors)) == (2, 0, {})
    assert peer.calls == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"Successful": [], "Failed": [{"Id": str(n), "Code": "X", "SenderFault": True} for n in range(5)]},
        {"Successful": [], "Failed": [{"Id": "0", "Code": "X", "SenderFault": True}] * 3},
        {"Successful": [], "Failed": [{"Id": "99", "Code": "X", "SenderFault": True}]},
        {"Successful": [{"Id": "0"}, {"Id": "1"}], "Failed": [{"Id": "1", "Code": "X", "SenderFault": True}]},
        {"Successful": [{"Id": ["0"]}, {"Id": {"1": 1}}], "Failed": [{"Id": [], "Code": {}}]},
        {"Successful": "0", "Failed": 1},
    ],
    ids=["more-failed-than-sent", "one-id-failed-thrice", "an-id-never-sent", "both-lists", "ids-not-strings",
         "lists-not-lists"],
)
def test_counts_stay_within_the_records_sent_whatever_sqs_answers(answer):
    with HostilePeer(answer) as peer:
        result = change(peer, ['{"n": 1}', '{"n": 2}'], time.monotonic() + 5)
    assert result.changed >= 0 and result.failed >= 0
    assert result.changed + result.failed == 2
    assert sum(result.errors.values()) == result.failed
    assert result.changed == (1 if answer["Successful"] == [{"Id": "0"}, {"Id": "1"}] else 0)


def test_the_records_of_one_fifo_group_come_back_together():
    """SQS hands out none of a FIFO group while any of its messages is in flight: one draw per group, so
    that the group waits for one delay, not for the longest of several."""
    from forwarder_testing.events import fifo_event

    event = fifo_event([("a", '{"n": 1}'), ("b", '{"n": 2}'), ("a", '{"n": 3}'), ("b", '{"n": 4}'),
                        ("a", '{"n": 5}'), ("c", '{"n": 6}')])
    source, records = parse_event(event)
    for raw in event["Records"]:
        raw["receiptHandle"] = raw["messageId"]
    with SqsPeer() as peer:
        backoff = VisibilityBackoff(create_client("sqs", 2, endpoint_url=peer.url), Backoff(1000, 1000), 2)
        result = backoff.change(source, records, [REPORTED] * len(records), time.monotonic() + 5, time.monotonic())
        delays = {raw["messageId"]: peer.take(raw["receiptHandle"]) for raw in event["Records"]}
    assert result.changed == 6
    by_group: dict[str, set[int]] = {}
    for raw in event["Records"]:
        by_group.setdefault(raw["attributes"]["MessageGroupId"], set()).add(delays[raw["messageId"]])
    assert all(len(group) == 1 for group in by_group.values()), by_group
    assert len({delay for group in by_group.values() for delay in group}) > 1  # the groups drew apart


def test_a_code_of_any_length_is_counted_bounded():
    # The codes go into the report's log line: a peer's megabyte of code stays MAX_PEER_CODE characters there.
    from forwarder.publish import answers

    answer = {"Successful": [], "Failed": [{"Id": str(n), "Code": f"{n}" + "X" * 300_000, "SenderFault": True}
                                           for n in range(2)]}
    with HostilePeer(answer) as peer:
        result = change(peer, ['{"n": 1}', '{"n": 2}'], time.monotonic() + 5)
    assert result.failed == 2
    assert all(code.startswith(("0X", "1X")) and len(code) < answers.MAX_PEER_CODE + 40 for code in result.errors)
