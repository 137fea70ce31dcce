"""The S3 claim check: a payload too large for PutEvents goes to S3 and its entry points at it; when S3
fails, only the large record is reported; and an S3 that never answers holds back nothing but its own
record (and that record's FIFO group).

For the silent S3, S3 is a TCP server on 127.0.0.1 that accepts connections and never says a word;
EventBridge is the fault endpoint. The small records of the batch are published while the upload hangs,
and the large one is reported as ClaimCheckFailed when the deadline comes.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator

import pytest

from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.events import fifo_event, reported, sqs_event
from forwarder_testing.lambda_context import LambdaContext
from forwarder_testing.raw_server import RawServer
from tests.integration.test_handler import log_lines

pytestmark = pytest.mark.integration

TIMEOUT_MS, MARGIN_MS = 2500, 500  # the handler must be done 2 s in, S3 or not
BIG = json.dumps({"blob": "x" * 300_000})  # over the 256 KiB limit below: goes to S3


class SilentServer(RawServer):
    """Accepts every connection and holds it open without answering, until closed."""

    def __init__(self) -> None:
        self.held: list[socket.socket] = []
        super().__init__()

    def serve(self, sock: socket.socket) -> None:
        self.held.append(sock)

    def close(self) -> None:
        super().close()
        for connection in self.held:
            connection.close()  # the hung upload fails now instead of at its read timeout


@pytest.fixture
def silent_s3() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def forwarder(cold_start, silent_s3):
    endpoint = FaultEndpoint().start()
    handler = cold_start(
        AWS_ENDPOINT_URL=endpoint.url,
        AWS_ENDPOINT_URL_S3=silent_s3.url,
        LARGE_PAYLOAD_BUCKET="large-payloads",
        PUT_EVENTS_MAX_BYTES="262144",
        DEADLINE_MARGIN_MS=str(MARGIN_MS),
    )
    yield handler, endpoint
    endpoint.stop()


def invoke(handler, event: dict) -> tuple[dict, float]:
    started = time.monotonic()
    response = handler(event, LambdaContext(timeout_ms=TIMEOUT_MS))
    return response, time.monotonic() - started


def test_small_records_are_published_while_the_upload_hangs(forwarder, silent_s3, caplog):
    handler, endpoint = forwarder
    small = [json.dumps({"n": n}) for n in range(5)]
    event = sqs_event([small[0], small[1], BIG, *small[2:]])
    response, elapsed = invoke(handler, event)
    assert elapsed < TIMEOUT_MS / 1000  # returned before Lambda's deadline
    assert reported(response) == [event["Records"][2]["messageId"]]  # only the large one
    assert sorted(entry["Detail"] for entry in endpoint.accepted()) == sorted(small)
    assert silent_s3.held  # the upload did start, and S3 never answered
    summary = next(line for line in log_lines(caplog) if line.get("message") == "batch done")
    assert summary["failures_by_code"] == {"ClaimCheckFailed": 1}


def test_only_the_fifo_group_of_the_hanging_upload_waits(forwarder, caplog):
    handler, endpoint = forwarder
    event = fifo_event([("a", BIG), ("a", '{"a": 1}'), ("b", '{"b": 1}'), ("b", '{"b": 2}'), ("c", '{"c": 1}')])
    response, elapsed = invoke(handler, event)
    assert elapsed < TIMEOUT_MS / 1000
    ids = [record["messageId"] for record in event["Records"]]
    assert reported(response) == ids[:2]  # the large head of group a, and the record behind it
    assert [entry["Detail"] for entry in endpoint.accepted() if '"b"' in entry["Detail"]] == ['{"b": 1}', '{"b": 2}']
    assert {entry["Detail"] for entry in endpoint.accepted()} == {'{"b": 1}', '{"b": 2}', '{"c": 1}'}
    summary = next(line for line in log_lines(caplog) if line.get("message") == "batch done")
    assert summary["failures_by_code"] == {"ClaimCheckFailed": 1, "GroupBlocked": 1}


# -- payloads in S3 -------------------------------------------------------------------------------


def test_large_payloads_go_to_s3_and_the_entry_points_at_them(aws, clients, cold_start, context):
    s3, events = clients("s3"), clients("events")
    s3.create_bucket(Bucket="large-payloads")
    events.create_event_bus(Name="bus")
    handler = cold_start(
        AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="bus", LARGE_PAYLOAD_BUCKET="large-payloads", PUT_EVENTS_MAX_BYTES="262144"
    )
    assert handler(sqs_event([BIG, '{"small": 1}']), context) == {"batchItemFailures": []}
    digest = hashlib.sha256(BIG.encode()).hexdigest()
    stored = s3.get_object(Bucket="large-payloads", Key=f"{digest}.json")["Body"].read()
    assert stored == BIG.encode()


def test_claim_check_reference_shape(endpoint, aws, clients, cold_start, context):
    clients("s3").create_bucket(Bucket="large-payloads")
    handler = cold_start(
        AWS_ENDPOINT_URL=aws,
        AWS_ENDPOINT_URL_EVENTBRIDGE=endpoint.url,
        LARGE_PAYLOAD_BUCKET="large-payloads",
        PUT_EVENTS_MAX_BYTES="262144",
    )
    big = "y" * 300_000  # text: wrapped first, then stored
    assert handler(sqs_event([big]), context) == {"batchItemFailures": []}
    (detail,) = endpoint.accepted_details()
    stored_detail = json.dumps({"data": big}, separators=(",", ":"))
    assert detail == {
        "dataref": {
            "bucket": "large-payloads",
            "key": f"{hashlib.sha256(stored_detail.encode()).hexdigest()}.json",
            "size": len(stored_detail),
            "sha256": hashlib.sha256(stored_detail.encode()).hexdigest(),
        }
    }


def test_when_s3_fails_the_large_record_is_reported(endpoint, aws, cold_start, context):
    handler = cold_start(
        AWS_ENDPOINT_URL=aws,
        AWS_ENDPOINT_URL_EVENTBRIDGE=endpoint.url,
        LARGE_PAYLOAD_BUCKET="no-such-bucket",
        PUT_EVENTS_MAX_BYTES="262144",
    )
    event = sqs_event(["z" * 300_000, "{}"])
    response = handler(event, context)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert len(endpoint.accepted()) == 1
