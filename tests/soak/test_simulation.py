"""The simulated event sources behave as Lambda's do, and the accounting can tell a loss or a stray copy.

These drive plain functions, not the handler: they check the test harness the soak relies on.
"""

from __future__ import annotations

import base64
import json

from forwarder_testing.simulation import InProcess, KinesisSource, Message, SqsSource, Tally, drive, reconcile


def messages(count: int, groups: int = 0) -> list[Message]:
    return [
        Message(f"m{i}", json.dumps({"id": f"m{i}"}), f"g{i % groups}" if groups else None) for i in range(count)
    ]


def keys_of(event: dict) -> list[str]:
    bodies = [r.get("body") or base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
    return [json.loads(body)["id"] for body in bodies]


def item_ids(event: dict) -> list[str]:
    return [r.get("messageId") or r["kinesis"]["sequenceNumber"] for r in event["Records"]]


def test_standard_queue_redelivers_what_is_reported_then_moves_it_to_the_dlq():
    seen: list[str] = []

    def fails_m3(event: dict) -> dict:
        seen.extend(keys_of(event))
        failed = [i for i, key in zip(item_ids(event), keys_of(event), strict=True) if key == "m3"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    source = SqsSource(messages(10), batch_size=4, max_receive_count=3)
    tally = drive(source, InProcess(fails_m3))
    assert seen.count("m3") == 3 and all(seen.count(f"m{i}") == 1 for i in range(10) if i != 3)
    assert tally.parked["dlq"] == ["m3"]
    assert source.remaining == 0


def test_fifo_hands_out_a_group_in_order_and_never_while_it_waits():
    batches: list[list[str]] = []
    reported_once: set[str] = set()

    def fails_each_first_of_g0_once(event: dict) -> dict:
        keys = keys_of(event)
        batches.append(keys)
        assert len(keys) <= 10
        failed = []
        for item_id, key in zip(item_ids(event), keys, strict=True):
            if key == "m0" and key not in reported_once or failed and key in ("m2", "m4"):
                reported_once.add(key)
                failed.append(item_id)  # m0, and the rest of g0 behind it, come back
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    source = SqsSource(messages(6, groups=2), fifo=True, batch_size=10, per_group=3)
    drive(source, InProcess(fails_each_first_of_g0_once))
    g0 = [key for batch in batches for key in batch if key in ("m0", "m2", "m4")]
    assert g0 == ["m0", "m2", "m4", "m0", "m2", "m4"]  # the group waited for its head, in order
    assert source.tally.order_violations == 0


def test_fifo_counts_a_response_that_confirms_past_a_reported_record():
    def reports_only_the_head(event: dict) -> dict:
        return {"batchItemFailures": [{"itemIdentifier": item_ids(event)[0]}]}

    source = SqsSource(messages(3, groups=1), fifo=True, per_group=3, max_receive_count=1)
    tally = drive(source, InProcess(reports_only_the_head))
    assert tally.order_violations == 2
    assert tally.parked["dlq"] == ["m0"]


def test_kinesis_resumes_from_the_lowest_reported_then_gives_up_to_the_destination():
    def fails_m2(event: dict) -> dict:
        failed = [i for i, key in zip(item_ids(event), keys_of(event), strict=True) if key == "m2"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    source = KinesisSource(messages(6), batch_size=4, max_retry_attempts=2, bisect=False)
    tally = drive(source, InProcess(fails_m2))
    # m0..m3 fails at m2; the shard resumes there: m2..m5 fails twice more, then goes to the destination
    assert tally.parked["on_failure"] == ["m2", "m3", "m4", "m5"]
    assert tally.invocations == 3
    assert (tally.redelivered_confirmed["m3"], tally.redelivered_confirmed["m4"]) == (2, 1)  # confirmed, sent again
    assert source.remaining == 0


def test_a_raising_function_fails_the_whole_batch():
    def raises(event: dict) -> dict:
        raise ValueError("boom")

    source = SqsSource(messages(2), max_receive_count=1)
    tally = drive(source, InProcess(raises))
    assert (tally.failed_invocations, sorted(tally.parked["dlq"])) == (1, ["m0", "m1"])


def test_reconcile_finds_lost_messages_and_duplicates_without_a_cause():
    sent = messages(3)
    bus = [{"EventId": "e1", "Detail": sent[0].body}, {"EventId": "e2", "Detail": sent[0].body},
           {"EventId": "e3", "Detail": sent[1].body}, {"EventId": "e4", "Detail": sent[1].body}]
    result = reconcile(sent, bus, ambiguous_event_ids=["e3"], tally=Tally(parked={"dlq": []}))
    assert (result["lost"], result["lost_examples"]) == (1, ["m2"])
    assert (result["duplicates"], result["duplicates_ambiguous"], result["duplicates_unexplained"]) == (2, 1, 1)


def test_fifo_hands_a_group_out_again_only_once_all_its_reported_messages_are_visible():
    """As SQS: a group's message in flight (invisible) holds back the whole group, its visible head too."""
    from forwarder_testing.simulation.sqs_peer import SqsPeer

    handed_out: list[tuple[float, list[str]]] = []
    with SqsPeer() as peer:
        source = SqsSource(messages(2, groups=1), fifo=True, per_group=2, visibility_timeout=1000, peer=peer)

        def reports_both_once(event: dict) -> dict:
            handed_out.append((source.now, keys_of(event)))
            if len(handed_out) > 1:
                return {"batchItemFailures": []}
            delays = {"m0": 5, "m1": 50}  # the head comes back first, the message behind it later
            peer.change_visibility({"Entries": [
                {"Id": str(n), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": delays[key]}
                for n, (r, key) in enumerate(zip(event["Records"], keys_of(event), strict=True))]})
            return {"batchItemFailures": [{"itemIdentifier": i} for i in item_ids(event)]}

        drive(source, InProcess(reports_both_once))
    (_, first), (again, second) = handed_out
    assert first == second == ["m0", "m1"]
    assert again >= 50  # not at 5, when only the head was visible
    assert source.tally.order_violations == 0
