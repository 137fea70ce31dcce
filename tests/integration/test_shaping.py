"""Shaping and filtering through the handler and the real wire path to the fault endpoint over HTTP."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from forwarder.function.forwarder import build_forwarder
from forwarder.function.report import Reporter
from forwarder_testing.events import fifo_event, kinesis_event, reported, sqs_event
from tests.integration.test_handler import emf_lines, log_lines
from tests.unit.test_shaping import BODIES, EXPRESSIONS, REQUIRED
from tests.unit.test_targets import Recorder


def summary_of(caplog) -> dict:
    (line,) = [line for line in log_lines(caplog) if line["message"] == "batch done"]
    return line


def test_a_filtered_record_is_done_and_its_fifo_group_goes_on(endpoint, cold_start, context, caplog, capsys):
    # GIVEN a filter on a message field, and a FIFO group whose middle record it leaves out
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, EVENT_FILTER="body.kind != 'noise'")
    messages = [("a", '{"n": 1}'), ("a", '{"n": 2, "kind": "noise"}'), ("a", '{"n": 3}'), ("b", '{"n": 4}')]
    # WHEN the batch arrives THEN nothing is handed back: the filtered record is done, never redelivered
    assert handler(fifo_event(messages), context) == {"batchItemFailures": []}
    # AND the rest of its group reached the bus, in order
    sent = [json.loads(entry["Detail"])["n"] for entry in endpoint.accepted()]
    assert [n for n in sent if n != 4] == [1, 3] and sorted(sent) == [1, 3, 4]
    summary = summary_of(caplog)
    assert (summary["received"], summary["forwarded"], summary["filtered"], summary["failed"]) == (4, 3, 1, 0)
    emf = emf_lines(capsys)[-1]
    assert (emf["RecordsFiltered"], emf["RecordsForwarded"], emf["RecordsFailed"]) == ([1.0], [3.0], [0.0])


def test_a_shaped_kinesis_record_goes_on_the_wire_with_its_shaped_fields(endpoint, cold_start, context):
    env = {
        "EVENT_DETAIL": "{id: body.id, key: kinesis.partitionKey}",
        "EVENT_DETAIL_TYPE_PATH": "body.type",
        "EVENT_TIME": "body.at",
        "EVENT_RESOURCES": "[eventSourceARN]",
    }
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, **env)
    event = kinesis_event([b'{"id": 7, "type": "Clicked", "at": "2026-03-01T10:00:00Z", "pii": "x"}'])
    assert handler(event, context) == {"batchItemFailures": []}
    (entry,) = endpoint.accepted()
    assert json.loads(entry["Detail"]) == {"id": 7, "key": "key"}
    assert entry["DetailType"] == "Clicked" and entry["Resources"] == [event["Records"][0]["eventSourceARN"]]
    assert entry["Time"] == 1772359200  # epoch seconds on the wire, as botocore sends a datetime


def test_unusable_results_fall_back_with_one_warning_per_kind_and_a_metric(endpoint, cold_start, context, caplog,
                                                                          capsys):
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, EVENT_DETAIL_TYPE_PATH="body.type", EVENT_TIME="body.at")
    bodies = [json.dumps({"type": "x" * 200, "at": "secret-not-a-time"}) for _ in range(5)]
    assert handler(sqs_event(bodies), context) == {"batchItemFailures": []}
    assert {entry["DetailType"] for entry in endpoint.accepted()} == {"TestEvent"}
    warnings = [line for line in log_lines(caplog) if line["level"] == "WARNING"]
    assert sorted((w["variable"], w["records"]) for w in warnings) == [("EVENT_DETAIL_TYPE_PATH", 5), ("EVENT_TIME", 5)]
    assert "secret" not in json.dumps(warnings)
    assert emf_lines(capsys)[-1]["ShapingFallbacks"] == [10.0]


def test_a_detail_expression_that_fails_reports_that_record_alone(endpoint, cold_start, context, caplog, capsys):
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, EVENT_DETAIL="{total: sum(body.items)}")
    event = sqs_event(['{"items": [1, 2]}', '{"items": "secret"}', '{"items": [3]}'])
    assert reported(handler(event, context)) == [event["Records"][1]["messageId"]]
    assert [json.loads(entry["Detail"]) for entry in endpoint.accepted()] == [{"total": 3}, {"total": 3}]
    (warning,) = [line for line in log_lines(caplog) if line["level"] == "WARNING"]
    assert warning["error_code"] == "ShapingFailed" and "secret" not in json.dumps(warning)
    assert emf_lines(capsys)[-1]["ShapingFailures"] == [1.0]


# -- for any body and any of a set of expressions: the handler never raises, one outcome per record ------

ENVS = [
    {"EVENT_DETAIL": "{a: body.a, t: type(body.a)}", "EVENT_FILTER": "body.a"},
    {"EVENT_DETAIL": "sum(body.a)", "EVENT_TIME": "body.a"},
    {"EVENT_DETAIL_TYPE_PATH": "to_string(body.a)", "EVENT_RESOURCES": "body.b", "EVENT_FILTER": "abs(body.a)"},
    {"EVENT_SOURCE_PATH": "join(',', body.a)", "EVENT_DETAIL": "body.*"},
    {name: expression for name, expression in zip(
        ["EVENT_DETAIL", "EVENT_RESOURCES", "EVENT_TIME", "EVENT_FILTER"], EXPRESSIONS[5:], strict=False)},
]


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(BODIES, min_size=1, max_size=8), which=st.integers(0, len(ENVS) - 1))
def test_any_bodies_under_any_expressions_each_get_exactly_one_outcome(endpoint, monkeypatch, context, bodies, which):
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
    recorder = Recorder()
    forwarder = build_forwarder({**REQUIRED, "EVENT_BUS_NAME": "default", **ENVS[which]}, Reporter(recorder, recorder))
    before = len(endpoint.accepted())
    event = sqs_event(bodies)
    response = forwarder.handle(event, context)  # never raises
    (summary,) = [extra for level, message, extra in recorder.lines if message == "batch done"]
    assert summary["received"] == len(bodies)
    assert summary["forwarded"] + summary["failed"] + summary["quarantined"] + summary["filtered"] == len(bodies)
    assert len(endpoint.accepted()) - before == summary["forwarded"]
    assert len(reported(response)) == summary["failed"]
    assert set(summary["failures_by_code"]) <= {"ShapingFailed"}


UINT64_ID = '{"id": 18446744073709551615, "status": "PLACED"}'  # a uint64 id: JSON, beyond EventBridge's int64
NAN = '{"status": "PLACED", "ratio": NaN}'


def test_a_body_eventbridge_refuses_is_still_json_to_the_filter_and_goes_on_wrapped(endpoint, cold_start, context):
    # GIVEN a filter on the body, and bodies JSON readers take that EventBridge refuses as they are
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, EVENT_FILTER="body.status == 'PLACED'")
    event = sqs_event([UINT64_ID, NAN, '{"status": "SHIPPED", "id": 18446744073709551615}'])
    # WHEN forwarded
    assert handler(event, context) == {"batchItemFailures": []}
    # THEN the filter read them (the shipped one is left out), and the placed ones went on as text, as without it
    details = [json.loads(entry["Detail"]) for entry in endpoint.accepted()]
    assert details == [{"data": UINT64_ID}, {"data": NAN}]


def test_a_shaped_detail_eventbridge_refuses_fails_its_record_alone_with_its_reason(
    endpoint, cold_start, context, caplog
):
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, EVENT_DETAIL="{id: body.id, status: body.status}")
    event = sqs_event([UINT64_ID, '{"id": 7, "status": "PLACED"}'])
    assert reported(handler(event, context)) == [event["Records"][0]["messageId"]]
    assert [json.loads(entry["Detail"]) for entry in endpoint.accepted()] == [{"id": 7, "status": "PLACED"}]
    (line,) = [line for line in log_lines(caplog) if line.get("error_code") == "ShapingFailed"]
    assert line["error_message"] == "EVENT_DETAIL gave a Detail EventBridge refuses: an integer outside int64"
