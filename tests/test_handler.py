"""The Lambda handler as Lambda calls it: responses, rejected events, logs and metrics."""

from __future__ import annotations

import json

import pytest

from forwarder.records import EventError
from tests.support.events import sqs_event

SECRET = "card-4111111111111111"  # noqa: S105 - a marker to look for in logs


def log_lines(caplog, handler) -> list[dict]:
    """The handler's log records as its JSON formatter writes them to stdout."""
    formatter = handler.logger.registered_formatter
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == handler.logger.name]


def emf_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]


def test_empty_batch_sends_nothing_and_reports_nothing(load_handler, context, caplog):
    handler = load_handler()  # the endpoint is a closed port: any request would fail
    assert handler.lambda_handler({"Records": []}, context) == {"batchItemFailures": []}
    summary = next(line for line in log_lines(caplog, handler) if line.get("message") == "batch done")
    assert (summary["received"], summary["requests"]) == (0, 0)


def test_a_malformed_event_raises_so_lambda_retries_the_batch(load_handler, context, caplog, capsys):
    handler = load_handler()
    with pytest.raises(EventError, match="no 'Records' list"):
        handler.lambda_handler({"detail": {}}, context)
    error = next(line for line in log_lines(caplog, handler) if line["level"] == "ERROR")
    assert "no 'Records' list" in error["reason"]
    assert emf_lines(capsys)[-1]["BatchesRejected"] == [1.0]


@pytest.mark.integration
def test_summary_log_and_metrics_without_bodies(aws, clients, load_handler, context, caplog, capsys):
    clients("events").create_event_bus(Name="bus")
    handler = load_handler(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="bus")
    response = handler.lambda_handler(sqs_event([json.dumps({"card": SECRET})] * 3), context)
    assert response == {"batchItemFailures": []}
    lines = log_lines(caplog, handler)
    assert SECRET not in json.dumps(lines)  # no message bodies in logs at INFO
    summary = next(line for line in lines if line.get("message") == "batch done")
    assert summary["level"] == "INFO"
    assert (summary["received"], summary["forwarded"], summary["failed"], summary["requests"]) == (3, 3, 0, 1)
    emf = emf_lines(capsys)[-1]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "EventForwarderTests"
    counts = [emf[name] for name in ("RecordsReceived", "RecordsForwarded", "RecordsFailed", "PutEventsRequests")]
    assert counts == [[3.0], [3.0], [0.0], [1.0]]


@pytest.mark.integration
def test_every_failure_is_logged_with_its_reason(aws, load_handler, context, caplog):
    handler = load_handler(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="missing")
    event = sqs_event(['{"a": 1}'])
    response = handler.lambda_handler(event, context)
    assert response["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
    warning = next(line for line in log_lines(caplog, handler) if line.get("level") == "WARNING")
    assert warning["item_id"] == event["Records"][0]["messageId"]
    assert warning["error_code"]
