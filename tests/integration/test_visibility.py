"""Reported SQS records come back after the visibility backoff, through moto server's SQS over real HTTP.

EventBridge is the fault endpoint: a detail rule fails the records whose body says "fail" with a final
code (no quarantine queue, so they are reported). The source queue is moto's, with a visibility timeout of
ten minutes: a reported record seen again within seconds came back because the function changed its
visibility. Confirmed records stay in flight here (no event source mapping deletes them).
"""

from __future__ import annotations

import json
import time

import pytest

from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.events import sqs_event
from forwarder_testing.lambda_context import LambdaContext
from forwarder_testing.local_aws import lambda_sqs_record, queue_arn
from tests.integration.test_handler import emf_lines, log_lines
from tests.integration.test_quarantine_deadline import DelayingProxy

pytestmark = pytest.mark.integration

QUEUE_TIMEOUT = 600  # the source queue's own visibility timeout


@pytest.fixture
def eventbridge():
    with FaultEndpoint(detail_rules=[{"contains": "fail", "code": "AccessDeniedException"}]) as endpoint:
        yield endpoint


def source_batch(sqs, bodies: list[str]) -> tuple[str, dict]:
    """Send `bodies` to a new queue and receive them all, as Lambda's event source mapping hands them over."""
    url = sqs.create_queue(QueueName="source", Attributes={"VisibilityTimeout": str(QUEUE_TIMEOUT)})["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    arn, records = queue_arn(sqs, url), []
    while len(records) < len(bodies):
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
        records += [lambda_sqs_record(message, arn) for message in answer.get("Messages", [])]
    return url, {"Records": records}


def visible_again(sqs, url: str, within: float) -> set[str]:
    """The message ids received again within `within` seconds (each deleted once seen)."""
    seen: set[str] = set()
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            seen.add(message["MessageId"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        time.sleep(0.2)
    return seen


def summary(caplog) -> dict:
    return next(line for line in log_lines(caplog) if line.get("message") == "batch done")


def test_reported_records_come_back_after_the_backoff(aws, clients, cold_start, eventbridge, caplog, capsys):
    sqs = clients("sqs")
    url, event = source_batch(sqs, ['{"ok": 1}', '{"fail": 1}', '{"ok": 2}'])
    handler = cold_start(AWS_ENDPOINT_URL_EVENTBRIDGE=eventbridge.url, AWS_ENDPOINT_URL_SQS=aws,
                         VISIBILITY_BACKOFF_MAX_SECONDS="2", VISIBILITY_BACKOFF_BASE_SECONDS="1")
    response = handler(event, LambdaContext())
    failed = event["Records"][1]["messageId"]
    assert response == {"batchItemFailures": [{"itemIdentifier": failed}]}
    # A first receive waits at most the base (1 s); the queue's own timeout would be ten minutes.
    assert visible_again(sqs, url, within=4) == {failed}
    counts = summary(caplog)
    assert (counts["visibility_changed"], counts["visibility_failed"], counts["visibility_skipped"]) == (1, 0, 0)
    assert emf_lines(capsys)[-1]["VisibilityChanged"] == [1.0]


def test_more_than_ten_reported_records_take_one_call_per_ten(aws, clients, cold_start, eventbridge, caplog):
    sqs = clients("sqs")
    url, event = source_batch(sqs, [json.dumps({"fail": index}) for index in range(25)])
    handler = cold_start(AWS_ENDPOINT_URL_EVENTBRIDGE=eventbridge.url, AWS_ENDPOINT_URL_SQS=aws,
                         VISIBILITY_BACKOFF_MAX_SECONDS="1", VISIBILITY_BACKOFF_BASE_SECONDS="1")
    response = handler(event, LambdaContext())
    assert len(response["batchItemFailures"]) == 25
    assert summary(caplog)["visibility_changed"] == 25
    assert visible_again(sqs, url, within=4) == {record["messageId"] for record in event["Records"]}


def test_a_failing_call_changes_no_outcome(aws, clients, cold_start, eventbridge, caplog):
    """moto answers ChangeMessageVisibilityBatch for a queue that does not exist with an error."""
    event = sqs_event(['{"ok": 1}', '{"fail": 1}'], queue="no-such-queue")
    on = cold_start(AWS_ENDPOINT_URL_EVENTBRIDGE=eventbridge.url, AWS_ENDPOINT_URL_SQS=aws,
                    VISIBILITY_BACKOFF_MAX_SECONDS="60")
    response = on(event, LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    counts = summary(caplog)
    assert (counts["visibility_changed"], counts["visibility_failed"]) == (0, 1)
    warning = next(line for line in log_lines(caplog) if line["message"].startswith("visibility not changed"))
    assert warning["failed"] == 1 and sum(warning["errors_by_code"].values()) == 1


def test_an_entry_answered_failed_changes_no_outcome(aws, clients, cold_start, eventbridge, caplog):
    """A receipt handle SQS does not know: the call succeeds, the entry is in Failed."""
    sqs = clients("sqs")
    url, event = source_batch(sqs, ['{"fail": 1}', '{"fail": 2}'])
    event["Records"][0]["receiptHandle"] = "not-a-receipt-handle"
    del event["Records"][1]["receiptHandle"]
    handler = cold_start(AWS_ENDPOINT_URL_EVENTBRIDGE=eventbridge.url, AWS_ENDPOINT_URL_SQS=aws,
                         VISIBILITY_BACKOFF_MAX_SECONDS="60")
    response = handler(event, LambdaContext())
    assert len(response["batchItemFailures"]) == 2
    counts = summary(caplog)
    assert (counts["visibility_changed"], counts["visibility_failed"], counts["visibility_skipped"]) == (0, 1, 1)


def run_behind_proxy(cold_start, eventbridge, aws, clients, delay: float) -> tuple[dict, dict, float, DelayingProxy]:
    sqs = clients("sqs")
    _, event = source_batch(sqs, ['{"fail": 1}'])
    proxy = DelayingProxy(aws, delay)
    handler = cold_start(AWS_ENDPOINT_URL_EVENTBRIDGE=eventbridge.url, AWS_ENDPOINT_URL_SQS=proxy.url,
                         DEADLINE_MARGIN_MS="1000", VISIBILITY_BACKOFF_MAX_SECONDS="60")
    started = time.monotonic()
    response = handler(event, LambdaContext(timeout_ms=1500))  # the publisher's deadline is 0.5 s away
    elapsed = time.monotonic() - started
    return response, event, elapsed, proxy


def test_a_slow_sqs_peer_is_cut_at_a_quarter_of_the_margin(aws, clients, cold_start, eventbridge, caplog):
    response, event, elapsed, proxy = run_behind_proxy(cold_start, eventbridge, aws, clients, delay=1.5)
    assert elapsed < 1.4  # returned before Lambda's timeout: three quarters of the margin were left for the report
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert summary(caplog)["visibility_failed"] == 1
    with proxy.decided:  # the proxy drops the call once its delay is over, unless the call was never started
        proxy.decided.wait_for(lambda: proxy.forwarded + proxy.dropped >= 1, timeout=3)
    # SQS never saw it: the call gave up at its deadline (or, on a slow machine, was past it before it began).
    assert proxy.forwarded == 0


def test_an_sqs_peer_answering_in_time_changes_the_visibility(aws, clients, cold_start, eventbridge, caplog):
    response, event, _, proxy = run_behind_proxy(cold_start, eventbridge, aws, clients, delay=0.05)
    proxy.wait_for_decisions(1)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert summary(caplog)["visibility_changed"] == 1
    assert proxy.forwarded == 1


def test_only_sqs_batches_have_their_visibility_changed(cold_start, eventbridge, caplog):
    """A Kinesis record reported: no SQS call (its endpoint is a closed port) and no visibility counts."""
    from forwarder_testing.events import kinesis_event

    handler = cold_start(AWS_ENDPOINT_URL_EVENTBRIDGE=eventbridge.url, VISIBILITY_BACKOFF_MAX_SECONDS="60")
    event = kinesis_event([b'{"fail": 1}'])
    response = handler(event, LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["kinesis"]["sequenceNumber"]}]}
    assert "visibility_changed" not in summary(caplog)


def test_the_sqs_client_is_made_only_when_a_record_is_first_reported(cold_start, eventbridge, caplog):
    """botocore refuses to make a client for an endpoint that is not a URL: the function starts all the same,
    a stream batch never makes the SQS client, and an SQS batch's reported record stays reported, with its
    visibility change counted as failed."""
    from forwarder_testing.events import kinesis_event

    # GIVEN an SQS endpoint botocore cannot make a client for WHEN the function starts THEN it starts
    handler = cold_start(AWS_ENDPOINT_URL_EVENTBRIDGE=eventbridge.url, AWS_ENDPOINT_URL_SQS="not a url",
                         VISIBILITY_BACKOFF_MAX_SECONDS="60")
    # WHEN a Kinesis record is reported THEN no SQS client was needed
    stream = kinesis_event([b'{"fail": 1}'])
    assert handler(stream, LambdaContext()) == {
        "batchItemFailures": [{"itemIdentifier": stream["Records"][0]["kinesis"]["sequenceNumber"]}]}
    # WHEN an SQS record is reported THEN it is reported whatever the client, its visibility change failed
    caplog.clear()
    event = sqs_event(['{"ok": 1}', '{"fail": 1}'])
    response = handler(event, LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    counts = summary(caplog)
    assert (counts["visibility_changed"], counts["visibility_failed"]) == (0, 1)
