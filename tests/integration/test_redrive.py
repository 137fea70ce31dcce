"""`python -m forwarder redrive` through moto server: quarantined records and on-failure ranges brought back."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys

import pytest

from forwarder.records.event import parse_event
from forwarder.redrive.command import EXIT_INTERRUPTED, EXIT_NOT_ALL_DONE, main
from forwarder.redrive.requeue import redrive_deduplication_id
from forwarder.stages.quarantine import QuarantineQueue
from forwarder_testing.events import kinesis_event, sqs_event
from forwarder_testing.local_aws import drain, lambda_sqs_record, queue_arn, tap_bus

pytestmark = pytest.mark.integration

BUS = "bus"


@pytest.fixture
def env(aws, monkeypatch):
    """The function's settings, as the operator exports them for the command."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws)
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    return monkeypatch


def redrive(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--wait-seconds", "0", "--rate", "0", *args], stdout=out)
    return code, out.getvalue()


def summary(output: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if line.startswith("summary: "))
    return {key: int(value) for key, value in (pair.split("=") for pair in line.split()[1:] if "=" in pair)}


def quarantine(sqs, url: str, event: dict, code: str = "EntryTooLarge") -> None:
    """Park each record of a Lambda event as the function's quarantine does (quarantine.py)."""
    queue = QuarantineQueue(sqs, url)
    for record in parse_event(event)[1]:
        queue.send(record, code, "the reason it was quarantined")


def details(events: list) -> list:
    return [event["detail"] for event in events]


def test_a_record_quarantined_by_a_setting_goes_out_once_the_setting_is_corrected(env, clients, cold_start, context):
    # GIVEN a record the function quarantined because PUT_EVENTS_MAX_BYTES was too small
    sqs = clients("sqs")
    tap = tap_bus(clients, BUS, "test.forwarder")
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    handler = cold_start(POISON_QUEUE_URL=poison, PUT_EVENTS_MAX_BYTES="4096")
    assert handler(sqs_event(['{"big": "' + "x" * 5000 + '"}']), context) == {"batchItemFailures": []}
    # WHEN the setting is corrected and the quarantine redriven
    env.delenv("PUT_EVENTS_MAX_BYTES")
    code, output = redrive("--from", poison)
    # THEN the record is on the bus, shaped by the corrected settings, and the quarantine is empty
    assert code == 0, output
    assert output.splitlines()[-1] == (
        "summary: messages=1 forwarded=1 filtered=0 moved=0 failed=0 expired=0 unrecognised=0 deleted=1 left=0"
    )
    events = tap_bus_events(clients, tap)
    assert details(events) == [{"big": "x" * 5000}]
    assert events[0]["source"] == "test.forwarder"
    assert drain(sqs, poison) == []


def tap_bus_events(clients, tap_url: str) -> list:
    return [json.loads(message["Body"]) for message in drain(clients("sqs"), tap_url, wait_seconds=1)]


def test_a_record_that_fails_again_stays_with_its_new_reason(env, clients):
    # GIVEN two quarantined records, one of which is still too large for the settings
    env.setenv("PUT_EVENTS_MAX_BYTES", "4096")
    sqs = clients("sqs")
    tap = tap_bus(clients, BUS, "test.forwarder")
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    event = sqs_event(['{"ok": 1}', '{"big": "' + "x" * 5000 + '"}'])
    quarantine(sqs, poison, event)
    # WHEN it is redriven
    code, output = redrive("--from", poison)
    # THEN the small one went out and was deleted; the large one stayed, visible again, with its reason reported
    assert code == EXIT_NOT_ALL_DONE
    counts = summary(output)
    assert (counts["forwarded"], counts["failed"], counts["deleted"], counts["left"]) == (1, 1, 1, 1)
    assert "EntryTooLarge" in output
    assert details(tap_bus_events(clients, tap)) == [{"ok": 1}]
    (left,) = drain(sqs, poison)
    assert json.loads(left["Body"])["record"] == event["Records"][1]


def test_a_record_the_corrected_filter_leaves_out_is_done_and_counted_as_filtered(env, clients):
    sqs = clients("sqs")
    tap = tap_bus(clients, BUS, "test.forwarder")
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    quarantine(sqs, poison, sqs_event(['{"test": true}', '{"test": false}']), code="ShapingFailed")
    env.setenv("EVENT_FILTER", "!(body.test)")
    code, output = redrive("--from", poison)
    assert code == 0, output
    counts = summary(output)
    assert (counts["forwarded"], counts["filtered"], counts["deleted"]) == (1, 1, 2)
    assert details(tap_bus_events(clients, tap)) == [{"test": False}]
    assert drain(sqs, poison) == []


def test_dry_run_changes_nothing(env, clients):
    sqs = clients("sqs")
    tap = tap_bus(clients, BUS, "test.forwarder")
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    event = sqs_event([json.dumps({"n": n}) for n in range(13)])
    quarantine(sqs, poison, event)
    code, output = redrive("--from", poison, "--dry-run")
    assert code == 0, output
    assert output.count("would forward") == 13
    assert summary(output)["deleted"] == 0
    assert tap_bus_events(clients, tap) == []
    # every message is still there, and visible at once
    assert sorted(json.loads(m["Body"])["record"]["body"] for m in drain(sqs, poison)) == sorted(
        r["body"] for r in event["Records"]
    )


def test_max_reads_no_more_than_asked(env, clients):
    sqs = clients("sqs")
    tap = tap_bus(clients, BUS, "test.forwarder")
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    quarantine(sqs, poison, sqs_event([json.dumps({"n": n}) for n in range(15)]))
    code, output = redrive("--from", poison, "--max", "12")
    assert code == 0, output
    assert summary(output)["forwarded"] == 12
    assert len(tap_bus_events(clients, tap)) == 12
    assert len(drain(sqs, poison)) == 3


def received_source_records(sqs, url: str, count: int) -> dict:
    """A Lambda event of records received from a real queue (attributes, trace header and all)."""
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=count, AttributeNames=["All"], MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )["Messages"]
    return {"Records": [lambda_sqs_record(m, queue_arn(sqs, url)) for m in messages]}


TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
ATTRIBUTES = {
    "tenant": {"DataType": "String", "StringValue": "acme"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffbin"},
    "n": {"DataType": "Number", "StringValue": "7"},
}


def test_to_queue_moves_the_original_body_and_attributes_back_to_a_standard_queue(env, clients):
    # GIVEN a message from the source queue, with attributes and a trace header, that the function quarantined
    sqs = clients("sqs")
    source = sqs.create_queue(QueueName="source")["QueueUrl"]
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    sqs.send_message(
        QueueUrl=source, MessageBody='{"order": 1}', MessageAttributes=ATTRIBUTES,
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}},
    )
    event = received_source_records(sqs, source, 1)
    quarantine(sqs, poison, event)
    sqs.delete_message(QueueUrl=source, ReceiptHandle=event["Records"][0]["receiptHandle"])
    # WHEN it is moved back
    env.delenv("EVENT_BUS_NAME")  # moving needs no bus settings
    code, output = redrive("--from", poison, "--to-queue", source)
    # THEN the source queue has it as it was first sent, and the quarantine is empty
    assert code == 0, output
    assert summary(output)["moved"] == 1
    (moved,) = sqs.receive_message(
        QueueUrl=source, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert moved["Body"] == '{"order": 1}'
    assert {name: {k: v for k, v in value.items() if k != "StringListValues" and k != "BinaryListValues"}
            for name, value in moved["MessageAttributes"].items()} == ATTRIBUTES
    assert moved["Attributes"]["AWSTraceHeader"] == TRACE
    assert drain(sqs, poison) == []


def test_to_queue_keeps_the_fifo_group_with_a_stable_deduplication_id_of_its_own(env, clients):
    # GIVEN a FIFO source message quarantined twice (the quarantine's ambiguous case: two copies)
    sqs = clients("sqs")
    fifo = {"FifoQueue": "true"}
    source = sqs.create_queue(QueueName="source.fifo", Attributes=fifo)["QueueUrl"]
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    sqs.send_message(QueueUrl=source, MessageBody='{"order": 2}', MessageGroupId="customer-9",
                     MessageDeduplicationId="original", MessageAttributes=ATTRIBUTES)
    event = received_source_records(sqs, source, 1)
    original_id = event["Records"][0]["messageId"]
    sqs.delete_message(QueueUrl=source, ReceiptHandle=event["Records"][0]["receiptHandle"])  # done with by the function
    sent_ids = []
    for _ in range(2):  # WHEN the same quarantined record is moved, and then moved again
        quarantine(sqs, poison, event)
        code, output = redrive("--from", poison, "--to-queue", source)
        assert code == 0, output
        (moved,) = drain(sqs, source)  # (SQS itself would drop the second within 5 minutes; moto keeps it)
        sent_ids.append(moved["Attributes"]["MessageDeduplicationId"])
        # THEN it keeps its group and attributes
        assert moved["Attributes"]["MessageGroupId"] == "customer-9"
        assert moved["Body"] == '{"order": 2}'
    # AND the deduplication id is the redrive's own (not the original's, which SQS may still remember),
    # the same both times
    assert sent_ids == [redrive_deduplication_id(original_id)] * 2
    assert "original" not in sent_ids


def test_to_queue_leaves_a_kinesis_record_where_it_is(env, clients):
    sqs = clients("sqs")
    source = sqs.create_queue(QueueName="source")["QueueUrl"]
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    quarantine(sqs, poison, kinesis_event([b'{"k": 1}']))
    code, output = redrive("--from", poison, "--to-queue", source)
    assert code == EXIT_NOT_ALL_DONE
    assert "NotMovable" in output
    assert len(drain(sqs, poison)) == 1
    assert drain(sqs, source) == []


# --- Kinesis and DynamoDB on-failure records --------------------------------------------------------------


def kinesis_stream(clients, payloads: list[bytes]) -> tuple[str, str, list[str]]:
    kinesis = clients("kinesis")
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="orders")["StreamDescription"]["StreamARN"]
    sequences = [
        kinesis.put_record(StreamName="orders", Data=data, PartitionKey="k")["SequenceNumber"] for data in payloads
    ]
    shard = kinesis.list_shards(StreamName="orders")["Shards"][0]["ShardId"]
    return arn, shard, sequences


def on_failure(kind: str, arn: str, shard: str, start: str, end: str, size: int) -> str:
    """The invocation record Lambda sends a Kinesis or DynamoDB event source's on-failure destination."""
    return json.dumps({
        "requestContext": {"requestId": "c9b8fa9f", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-14T00:38:06.021Z",
        kind: {"shardId": shard, "startSequenceNumber": start, "endSequenceNumber": end, "batchSize": size,
               "approximateArrivalOfFirstRecord": "2026-11-14T00:38:04.835Z",
               "approximateArrivalOfLastRecord": "2026-11-14T00:38:05.580Z", "streamArn": arn},
    })


def test_a_kinesis_on_failure_range_is_read_again_and_forwarded(env, clients):
    # GIVEN five records in a stream, of which Lambda gave up on the middle three
    arn, shard, sequences = kinesis_stream(clients, [json.dumps({"n": n}).encode() for n in range(5)])
    sqs = clients("sqs")
    tap = tap_bus(clients, BUS, "test.forwarder")
    failures = sqs.create_queue(QueueName="on-failure")["QueueUrl"]
    sqs.send_message(QueueUrl=failures, MessageBody=on_failure("KinesisBatchInfo", arn, shard, sequences[1],
                                                               sequences[3], 3))
    # WHEN the on-failure queue is redriven
    code, output = redrive("--from", failures)
    # THEN exactly that range reached the bus, and the message is gone
    assert code == 0, output
    assert summary(output)["forwarded"] == 3
    assert sorted(d["n"] for d in details(tap_bus_events(clients, tap))) == [1, 2, 3]
    assert drain(sqs, failures) == []


def test_an_expired_kinesis_range_is_reported_and_its_message_deleted(env, clients):
    # GIVEN an on-failure record naming a range the stream no longer holds (the stream is gone)
    arn, shard, sequences = kinesis_stream(clients, [b'{"n": 0}', b'{"n": 1}'])
    clients("kinesis").delete_stream(StreamName="orders")
    sqs = clients("sqs")
    failures = sqs.create_queue(QueueName="on-failure")["QueueUrl"]
    sqs.send_message(QueueUrl=failures, MessageBody=on_failure("KinesisBatchInfo", arn, shard, sequences[0],
                                                               sequences[1], 2))
    code, output = redrive("--from", failures)
    # THEN both records are reported expired; nothing could bring them back, so the message is deleted
    assert code == EXIT_NOT_ALL_DONE
    counts = summary(output)
    assert (counts["expired"], counts["forwarded"], counts["deleted"]) == (2, 0, 1)
    assert "expired" in output
    assert drain(sqs, failures) == []


def test_a_range_whose_first_records_were_trimmed_forwards_the_rest_and_counts_the_missing(env, clients):
    # GIVEN a range that starts before the first record the stream still holds
    arn, shard, sequences = kinesis_stream(clients, [json.dumps({"n": n}).encode() for n in range(3)])
    earlier = str(int(sequences[0]) - 1)
    sqs = clients("sqs")
    tap = tap_bus(clients, BUS, "test.forwarder")
    failures = sqs.create_queue(QueueName="on-failure")["QueueUrl"]
    sqs.send_message(QueueUrl=failures, MessageBody=on_failure("KinesisBatchInfo", arn, shard, earlier,
                                                               sequences[2], 5))
    code, output = redrive("--from", failures)
    counts = summary(output)
    if counts["failed"]:  # moto refuses a sequence number it never gave: then the range is not read at all
        pytest.skip(f"moto answered the unknown start sequence number with an error: {output}")
    assert code == EXIT_NOT_ALL_DONE
    assert (counts["forwarded"], counts["expired"]) == (3, 2)
    assert sorted(d["n"] for d in details(tap_bus_events(clients, tap))) == [0, 1, 2]


def test_a_dynamodb_on_failure_range_is_read_again_and_forwarded(env, clients):
    # GIVEN a table whose stream holds three changes, all in the on-failure record's range
    dynamodb = clients("dynamodb")
    table = dynamodb.create_table(
        TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    for n in range(3):
        dynamodb.put_item(TableName="orders", Item={"id": {"S": f"o-{n}"}, "blob": {"B": bytes([n])}})
    streams = clients("dynamodbstreams")
    arn = table["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    changes = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    first, last = changes[0]["dynamodb"]["SequenceNumber"], changes[-1]["dynamodb"]["SequenceNumber"]
    sqs = clients("sqs")
    tap = tap_bus(clients, BUS, "test.forwarder")
    failures = sqs.create_queue(QueueName="on-failure")["QueueUrl"]
    sqs.send_message(QueueUrl=failures, MessageBody=on_failure("DDBStreamBatchInfo", arn, shard, first, last, 3))
    # WHEN it is redriven
    code, output = redrive("--from", failures)
    # THEN each change reached the bus as the function forwards a DynamoDB record
    assert code == 0, output
    assert summary(output)["forwarded"] == 3
    forwarded = details(tap_bus_events(clients, tap))
    assert sorted(d["keys"]["id"] for d in forwarded) == ["o-0", "o-1", "o-2"]
    assert drain(sqs, failures) == []


def test_an_unrecognised_message_is_left_alone(env, clients):
    sqs = clients("sqs")
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    sqs.send_message(QueueUrl=poison, MessageBody="hello")
    code, output = redrive("--from", poison)
    assert code == EXIT_NOT_ALL_DONE
    assert summary(output)["unrecognised"] == 1
    assert [m["Body"] for m in drain(sqs, poison)] == ["hello"]


def test_an_interrupted_run_neither_loses_nor_doubles_a_record(env, aws, clients):
    # GIVEN 60 quarantined records and a run paced at 2 records a second (a batch of 10 each 5 seconds)
    sqs = clients("sqs")
    tap = tap_bus(clients, BUS, "test.forwarder")
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    quarantine(sqs, poison, sqs_event([json.dumps({"n": n}) for n in range(60)]))
    command = [sys.executable, "-m", "forwarder", "redrive", "--from", poison, "--rate", "2", "--wait-seconds", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    # WHEN it is interrupted once the first records reached the bus
    seen: list = []
    while not seen and process.poll() is None:
        seen = tap_bus_events(clients, tap)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    # THEN it stopped early, saying so; every record is on the bus or still quarantined, none in both
    assert process.returncode == EXIT_INTERRUPTED, (out, err)
    on_bus = [d["n"] for d in details(seen + tap_bus_events(clients, tap))]
    left = [json.loads(json.loads(m["Body"])["record"]["body"])["n"] for m in drain(sqs, poison)]
    assert sorted(on_bus + left) == list(range(60))
    assert 0 < len(on_bus) < 60
    assert b"(interrupted)" in out


def test_a_wrong_setting_fails_before_any_message_is_read(env, clients, capsys):
    sqs = clients("sqs")
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    quarantine(sqs, poison, sqs_event(['{"n": 1}']))
    env.setenv("MAX_CONCURRENCY", "lots")
    code, _ = redrive("--from", poison)
    assert code == 2
    assert "MAX_CONCURRENCY" in capsys.readouterr().err
    assert len(drain(sqs, poison)) == 1



def test_a_queue_that_does_not_exist_is_reported_not_a_traceback(env, aws):
    code, output = redrive("--from", f"{aws}/123456789012/no-such-queue")
    assert code == EXIT_NOT_ALL_DONE
    assert "not done: stopped:" in output and "summary: messages=0" in output


def test_a_dry_run_over_a_range_reads_the_stream_and_changes_nothing(env, clients):
    arn, shard, sequences = kinesis_stream(clients, [json.dumps({"n": n}).encode() for n in range(3)])
    sqs = clients("sqs")
    tap = tap_bus(clients, BUS, "test.forwarder")
    failures = sqs.create_queue(QueueName="on-failure")["QueueUrl"]
    body = on_failure("KinesisBatchInfo", arn, shard, sequences[0], sequences[2], 3)
    sqs.send_message(QueueUrl=failures, MessageBody=body)
    code, output = redrive("--from", failures, "--dry-run")
    assert code == 0, output
    assert "would forward 3 record(s) of shardId-" in output
    assert tap_bus_events(clients, tap) == []
    assert [m["Body"] for m in drain(sqs, failures)] == [body]


def test_progress_is_shown_on_a_terminal(env, clients):
    import pty

    sqs = clients("sqs")
    tap_bus(clients, BUS, "test.forwarder")
    poison = sqs.create_queue(QueueName="poison")["QueueUrl"]
    quarantine(sqs, poison, sqs_event([json.dumps({"n": n}) for n in range(12)]))
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "forwarder", "redrive", "--from", poison, "--rate", "0", "--wait-seconds", "0"]
    with os.fdopen(leader, "rb", buffering=0) as terminal:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower, env=dict(os.environ))
        os.close(follower)
        out, _ = process.communicate(timeout=60)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once the command closed its end
            while chunk := terminal.read(4096):
                shown += chunk
    assert process.returncode == 0, out
    assert b"\rredrive: messages=10 " in shown and b"\rredrive: messages=12 " in shown
    assert b"redrive:" not in out  # progress goes to the terminal only; stdout keeps the report
