"""The Lambda handler as Lambda calls it: responses, rejected events, logs and metrics."""

from __future__ import annotations

import json

import pytest

from forwarder.function.report import MAX_FAILURE_LINES
from forwarder.handler import logger
from forwarder.records.record import EventError
from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.events import sqs_event

SECRET = "card-4111111111111111"  # noqa: S105 - a marker to look for in logs


def log_lines(caplog) -> list[dict]:
    """The handler's log records as its JSON formatter writes them to stdout."""
    formatter = logger.registered_formatter
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger.name]


def emf_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]


def test_empty_batch_sends_nothing_and_reports_nothing(cold_start, context, caplog):
    handler = cold_start()  # the endpoint is a closed port: any request would fail
    assert handler({"Records": []}, context) == {"batchItemFailures": []}
    summary = next(line for line in log_lines(caplog) if line.get("message") == "batch done")
    assert (summary["received"], summary["requests"]) == (0, 0)


def test_a_malformed_event_raises_so_lambda_retries_the_batch(cold_start, context, caplog, capsys):
    handler = cold_start()
    with pytest.raises(EventError, match="no 'Records' list"):
        handler({"detail": {}}, context)
    error = next(line for line in log_lines(caplog) if line["level"] == "ERROR")
    assert "no 'Records' list" in error["reason"]
    assert emf_lines(capsys)[-1]["BatchesRejected"] == [1.0]


@pytest.mark.integration
def test_summary_log_and_metrics_without_bodies(aws, clients, cold_start, context, caplog, capsys):
    clients("events").create_event_bus(Name="bus")
    handler = cold_start(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="bus")
    response = handler(sqs_event([json.dumps({"card": SECRET})] * 3), context)
    assert response == {"batchItemFailures": []}
    lines = log_lines(caplog)
    assert SECRET not in json.dumps(lines)  # no message bodies in logs at INFO
    summary = next(line for line in lines if line.get("message") == "batch done")
    assert summary["level"] == "INFO"
    assert (summary["received"], summary["forwarded"], summary["failed"], summary["requests"]) == (3, 3, 0, 1)
    emf = emf_lines(capsys)[-1]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "EventForwarderTests"
    counts = [emf[name] for name in ("RecordsReceived", "RecordsForwarded", "RecordsFailed", "PutEventsRequests")]
    assert counts == [[3.0], [3.0], [0.0], [1.0]]


@pytest.mark.integration
def test_every_failure_is_logged_with_its_reason(aws, cold_start, context, caplog):
    handler = cold_start(AWS_ENDPOINT_URL=aws, EVENT_BUS_NAME="missing")
    event = sqs_event(['{"a": 1}'])
    response = handler(event, context)
    assert response["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
    warning = next(line for line in log_lines(caplog) if line.get("level") == "WARNING")
    assert warning["item_id"] == event["Records"][0]["messageId"]
    assert warning["error_code"]


@pytest.mark.integration
def test_failure_lines_are_bounded_and_each_kind_of_failure_is_logged(cold_start, context, caplog):
    # GIVEN an endpoint failing every entry, and one record of a rarer code at the end of a large batch
    with FaultEndpoint(entry_faults={"InternalFailure": 1.0},
                       detail_rules=[{"contains": "poison", "code": "MalformedDetail"}]) as endpoint:
        handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, MAX_ATTEMPTS="1")
        count = MAX_FAILURE_LINES * 3
        event = sqs_event([json.dumps({"n": i}) for i in range(count - 1)] + ['{"poison": 1}'])
        # WHEN the handler runs
        response = handler(event, context)
    # THEN every record is reported, but only MAX_FAILURE_LINES are logged one by one, the rare one included,
    # and one line counts the rest
    assert len(response["batchItemFailures"]) == count
    warnings = [line for line in log_lines(caplog) if line["level"] == "WARNING"]
    per_record = [line for line in warnings if "item_id" in line]
    assert len(per_record) == MAX_FAILURE_LINES
    assert per_record[-1]["item_id"] == event["Records"][-1]["messageId"]
    assert per_record[-1]["error_code"] == "MalformedDetail"
    rest = next(line for line in warnings if line["message"] == "more records failed than are logged one by one")
    assert (rest["logged"], rest["not_logged"]) == (MAX_FAILURE_LINES, count - MAX_FAILURE_LINES)
    assert rest["failures_by_code"] == {"InternalFailure": count - 1, "MalformedDetail": 1}


@pytest.mark.integration
def test_a_few_failures_are_each_logged_without_a_count_line(cold_start, context, caplog):
    with FaultEndpoint(entry_faults={"InternalFailure": 1.0}) as endpoint:
        handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, MAX_ATTEMPTS="1")
        event = sqs_event([json.dumps({"n": i}) for i in range(MAX_FAILURE_LINES)])
        handler(event, context)
    warnings = [line for line in log_lines(caplog) if line["level"] == "WARNING"]
    assert [line["item_id"] for line in warnings] == [record["messageId"] for record in event["Records"]]


@pytest.mark.integration
@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_powertools_log_event_setting_logs_no_body(value, cold_start, context, caplog, capsys):
    # GIVEN Powertools told to log the event, which holds message bodies
    with FaultEndpoint() as endpoint:
        handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, POWERTOOLS_LOGGER_LOG_EVENT=value)
        # WHEN an invocation forwards records
        response = handler(sqs_event([json.dumps({"card": SECRET})] * 2), context)
        assert len(endpoint.accepted()) == 2
    # THEN no log line, through any logger or on stdout, carries the body; the cold start said why
    assert response == {"batchItemFailures": []}
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert SECRET not in json.dumps(log_lines(caplog))
    assert SECRET not in capsys.readouterr().out
    assert any("POWERTOOLS_LOGGER_LOG_EVENT is ignored" in line["message"] for line in log_lines(caplog))


@pytest.mark.integration
def test_throttled_requests_and_the_in_flight_limit_are_metrics(cold_start, context, capsys):
    # GIVEN an endpoint that throttles the first two requests' entries, and an adaptive limit of 8
    with FaultEndpoint() as endpoint:
        endpoint.configure(entry_schedule=["ThrottlingException"] * 20)
        handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, MAX_CONCURRENCY="8")
        response = handler(sqs_event([json.dumps({"n": n}) for n in range(10)]), context)
    # THEN every record went out in the end, and the metrics say requests were throttled and the limit was cut
    assert response == {"batchItemFailures": []}
    emf = emf_lines(capsys)[-1]
    assert emf["PutEventsThrottled"][0] >= 1
    assert 1 <= emf["InFlightLimit"][0] < 8
    metrics = {m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"PutEventsThrottled", "InFlightLimit"} <= metrics


def test_a_batch_whose_deadline_has_passed_is_reported_whole_without_a_request(cold_start, endpoint):
    from forwarder_testing.events import reported
    from forwarder_testing.lambda_context import LambdaContext

    # GIVEN an invocation with less time left than the deadline margin (every stage's deadline has passed)
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, DEADLINE_MARGIN_MS="1000")
    event = sqs_event([json.dumps({"n": n}) for n in range(20)])
    # WHEN it is handled
    response = handler(event, LambdaContext(timeout_ms=500))
    # THEN no record is read or sent, and every one is reported for redelivery, once
    assert reported(response) == [record["messageId"] for record in event["Records"]]
    assert endpoint.stats()["requests"] == 0
