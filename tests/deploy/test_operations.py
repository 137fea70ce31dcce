"""The template's view of the pipeline: the dashboard, the backlog and reported-records alarms, the saved log
queries and the no-notification warning, checked in the translated template (the rehearsal in test_deploy.py
deploys the dashboard on moto; moto's CloudFormation has no alarms and no saved queries)."""

from __future__ import annotations

import json
import re

import pytest

from tests.deploy.test_deploy import ROOT
from tests.deploy.test_deploy import translated as translated  # a fixture, taken by name
from tests.unit.test_docs import emitted_metrics

pytestmark = pytest.mark.deploy

# Stand-ins for the dashboard's references, to read its body as the deployed JSON.
NUMBERS = {"SourceQueueAgeAlarmSeconds": "900", "FunctionTimeout": "60"}


def dashboard_body(translated: dict) -> dict:
    text, _ = translated["Resources"]["ForwarderDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    return json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: NUMBERS.get(m.group(1), f"<{m.group(1)}>"), text))


def metric_rows(body: dict) -> list[list]:
    rows = []
    for widget in body["widgets"]:
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], str):  # a metric (the others are math expressions)
                rows.append([part for part in row if not isinstance(part, dict)])
    return rows


def test_the_dashboard_shows_only_metrics_the_function_emits_with_its_dimension(translated: dict) -> None:
    rows = metric_rows(dashboard_body(translated))
    ours = [row for row in rows if row[0] == "<MetricsNamespace>"]
    assert {row[1] for row in ours} <= emitted_metrics()
    for _namespace, name, *dimensions in ours:
        pairs = dict(zip(dimensions[::2], dimensions[1::2], strict=True))
        expected = {"service": "<ServiceName>"}
        if name == "ColdStart":
            expected["function_name"] = "<ForwarderFunction>"
        assert pairs == expected, name
    # AND the panels the runbook points at are there: records, PutEvents, the limit, backlog, the function
    shown = {row[1] for row in rows}
    assert {"RecordsReceived", "RecordsForwarded", "RecordsFailed", "RecordsQuarantined", "RecordsFiltered",
            "PutEventsRequests", "PutEventsThrottled", "InFlightLimit"} <= shown
    assert {"ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible", "IteratorAge", "Errors",
            "Duration", "ConcurrentExecutions", "Throttles"} <= shown
    aws = {row[0] for row in rows} - {"<MetricsNamespace>"}
    assert aws == {"AWS/SQS", "AWS/Lambda"}


def test_the_dashboard_is_on_by_default_and_a_parameter_turns_it_off(translated: dict) -> None:
    parameter = translated["Parameters"]["Dashboard"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("on", ["on", "off"])
    assert translated["Conditions"]["CreateDashboard"] == {"Fn::Equals": [{"Ref": "Dashboard"}, "on"]}
    assert translated["Resources"]["ForwarderDashboard"]["Condition"] == "CreateDashboard"
    assert translated["Outputs"]["DashboardUrl"]["Condition"] == "CreateDashboard"


def test_backlog_and_reported_records_alarms_take_their_thresholds_from_parameters(translated: dict) -> None:
    resources = translated["Resources"]
    age = resources["SourceQueueAgeAlarm"]["Properties"]
    assert (age["Namespace"], age["MetricName"], age["Statistic"]) == (
        "AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum"
    )
    assert age["Threshold"] == {"Ref": "SourceQueueAgeAlarmSeconds"}
    [dimension] = age["Dimensions"]
    # the created source queue, or the existing one named by its ARN
    assert dimension["Value"]["Fn::If"][0] == "CreateSourceQueue"
    reported = resources["RecordsReportedAlarm"]["Properties"]
    assert (reported["Namespace"], reported["MetricName"], reported["Statistic"]) == (
        {"Ref": "MetricsNamespace"}, "RecordsFailed", "Sum"
    )
    assert reported["MetricName"] in emitted_metrics()
    assert reported["Dimensions"] == [{"Name": "service", "Value": {"Ref": "ServiceName"}}]
    assert reported["Threshold"] == {"Ref": "RecordsReportedAlarmThreshold"}
    for name in ("SourceQueueAgeAlarm", "RecordsReportedAlarm"):
        assert "Condition" not in resources[name], name  # every stack has an SQS source and reports


def test_saved_queries_read_the_functions_log_group(translated: dict) -> None:
    resources = translated["Resources"].items()
    queries = {n: r["Properties"] for n, r in resources if r["Type"] == "AWS::Logs::QueryDefinition"}
    assert set(queries) == {"RecordsNotForwardedQuery", "BatchesByOutcomeQuery", "ColdStartsQuery"}
    for name, query in queries.items():
        assert query["LogGroupNames"] == [{"Ref": "ForwarderLogGroup"}], name
    report = (ROOT / "src" / "forwarder" / "function" / "report.py").read_text()
    # the fields and messages the queries read are the ones the function logs
    for field in ("item_id", "error_code", "error_message", "attempts", "not_logged", "reason"):
        assert f'"{field}"' in report, field
    assert "error_code" in queries["RecordsNotForwardedQuery"]["QueryString"]
    assert '"batch done"' in report and 'message = "batch done"' in queries["BatchesByOutcomeQuery"]["QueryString"]
    for field in ("received", "forwarded", "failed", "quarantined", "filtered", "retried", "requests"):
        assert f'"{field}"' in report and f"sum({field})" in queries["BatchesByOutcomeQuery"]["QueryString"]


def test_the_stack_says_when_its_alarms_notify_nobody(translated: dict) -> None:
    output = translated["Outputs"]["AlarmNotifications"]
    assert "Condition" not in output
    condition, _, nobody = output["Value"]["Fn::If"]
    assert condition == "HasAlarmAction" and nobody.startswith("NOBODY")
    for name in ("AlarmEmail", "AlarmTopicArn"):
        assert "notify nobody" in translated["Parameters"][name]["Description"], name
    guide = (ROOT / "docs" / "deploy.md").read_text()
    assert "notify nobody" in guide


def test_the_runbook_covers_every_alarm(translated: dict) -> None:
    runbook = (ROOT / "docs" / "operations.md").read_text()
    alarms = [n for n, r in translated["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"]
    for name in alarms:
        assert f"`{name}`" in runbook, name
    assert "docs/operations.md" in (ROOT / "README.md").read_text()
