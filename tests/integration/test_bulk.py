"""forwarder.put_events and `python -m forwarder put-events`, through the fault-injecting endpoint."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from forwarder import put_events
from forwarder.command.cli import main
from forwarder.net.clients import create_client
from forwarder_testing.eventbridge_endpoint import FaultEndpoint

pytestmark = pytest.mark.integration



def client_for(endpoint: FaultEndpoint, concurrency: int = 8):
    return create_client("events", concurrency, endpoint_url=endpoint.url)


def entry(n: int, **extra) -> dict:
    return {"Source": "app", "DetailType": "Thing", "Detail": {"n": n}, **extra}


def test_results_in_input_order_with_retries_and_final_failures(endpoint):
    # GIVEN an endpoint that throttles some entries once and refuses "poison" for good
    endpoint.configure(
        entry_schedule=[None, "ThrottlingException", None, "InternalFailure"],
        detail_rules=[{"contains": "poison", "code": "MalformedDetail"}],
    )
    entries = [entry(n) for n in range(25)] + [entry(99, Detail='{"poison": true}')]
    # WHEN they go through the library
    results = put_events(entries, client=client_for(endpoint), event_bus_name="orders")
    # THEN every entry has its result, in order; retried ones ended confirmed, the poison did not
    assert len(results) == 26
    assert all("EventId" in r for r in results[:25])
    assert results[25]["ErrorCode"] == "MalformedDetail"
    accepted = endpoint.accepted()
    assert sorted(json.loads(a["Detail"])["n"] for a in accepted) == list(range(25))  # each exactly once
    assert {a["EventBusName"] for a in accepted} == {"orders"}
    assert {r["EventId"] for r in results[:25]} == {a["EventId"] for a in accepted}


def test_detail_may_be_a_dict_or_a_string_and_time_a_string(endpoint):
    results = put_events(
        [
            entry(1, Time="2026-11-22T10:00:00Z"),
            {"Source": "app", "DetailType": "Thing", "Detail": '{"n": 2}', "Time": datetime(2026, 1, 1, tzinfo=UTC)},
        ],
        client=client_for(endpoint),
    )
    assert all("EventId" in r for r in results)
    first, second = endpoint.accepted()
    assert first["Detail"] == '{"n":1}' and second["Detail"] == '{"n": 2}'
    assert first["Time"] == datetime(2026, 11, 22, 10, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"Source": "a", "DetailType": "b", "Detail": "{}", "Colour": "red"}, "unknown field"),
        ({"Source": "a", "DetailType": "b", "Detail": 5}, "Detail must be"),
        ({"Source": "a", "DetailType": "x" * 129, "Detail": "{}"}, "DetailType is longer"),
        ({"Source": "a", "DetailType": "b", "Detail": "{}", "TraceHeader": "t" * 501}, "TraceHeader is longer"),
        ({"Source": "a", "DetailType": "b", "Detail": "{}", "Time": "yesterday"}, "RFC 3339"),
        ({"Source": "a", "DetailType": "b", "Detail": "{}", "Resources": "arn"}, "Resources must be"),
        ("not an object", "must be an object"),
        # What botocore's model states and botocore refuses for the whole request (ParamValidationError) ...
        ({"Source": "a", "DetailType": "b", "Detail": "{}", "TraceHeader": ""}, "TraceHeader must not be empty"),
        ({"Source": "a", "DetailType": "b", "Detail": "{}", "EventBusName": ""}, "EventBusName must not be empty"),
        # ... or its serializer raises on, losing every result ...
        ({"Source": "a", "DetailType": "b", "Detail": "{}", "Time": "0001-01-01T00:00:00+14:00"}, "not a timestamp"),
        ({"Source": "a", "DetailType": "b", "Detail": "{}", "Time": 1e20}, "not a timestamp"),
        # ... or the service refuses the whole request for (ValidationException)
        ({"Source": "a", "DetailType": "b", "Detail": "{}", "Resources": ["r" * 2049]}, "longer than 2048"),
        ({"Source": "a", "DetailType": "b", "Detail": "{}", "EventBusName": "b" * 1601}, "longer than 1600"),
    ],
)
def test_a_malformed_entry_fails_alone(endpoint, bad, message):
    results = put_events([entry(1), bad, entry(2)], client=client_for(endpoint))
    assert "EventId" in results[0] and "EventId" in results[2]
    assert results[1]["ErrorCode"] == "InvalidArgument" and message in results[1]["ErrorMessage"]
    assert len(endpoint.accepted()) == 2


def test_many_entries_are_packed_by_count_and_bytes(endpoint):
    results = put_events(
        [entry(n, Detail={"pad": "x" * 30_000}) for n in range(40)],
        client=client_for(endpoint),
        max_request_bytes=100_000,
    )
    assert all("EventId" in r for r in results)
    assert endpoint.stats()["requests"] == 14  # 3 entries of ~30 KB per request under 100 KB, 40 entries


def test_timeout_reports_what_is_not_confirmed(endpoint):
    endpoint.configure(request_schedule=["accepted_hang"], slow_ms=3000)
    results = put_events([entry(1)], client=client_for(endpoint), timeout=0.5)
    assert results == [{"ErrorCode": "DeadlineExceeded", "ErrorMessage": results[0]["ErrorMessage"]}]


def test_global_endpoint_requests_carry_the_endpoint_id_and_a_sigv4a_signature(endpoint):
    results = put_events([entry(1)], client=client_for(endpoint), endpoint_id="abcde.veo")
    assert "EventId" in results[0]
    (signing,) = endpoint.recent_signing()
    assert signing["scheme"] == "AWS4-ECDSA-P256-SHA256"
    assert (signing["region_set"], signing["endpoint_id"]) == ("*", "abcde.veo")


def test_without_endpoint_id_requests_are_sigv4(endpoint):
    put_events([entry(1)], client=client_for(endpoint))
    assert endpoint.recent_signing()[0]["scheme"] == "AWS4-HMAC-SHA256"


def test_handler_sends_through_the_global_endpoint_when_configured(endpoint, cold_start, context):
    from forwarder_testing.events import sqs_event

    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, EVENT_ENDPOINT_ID="abcde.veo")
    assert handler(sqs_event(["{}"]), context) == {"batchItemFailures": []}
    assert endpoint.recent_signing()[-1]["endpoint_id"] == "abcde.veo"


# -- the command -----------------------------------------------------------------------------


def run_cli(endpoint: FaultEndpoint, *args: str, stdin: str = "") -> tuple[int, dict]:
    out = io.StringIO()
    code = main(["put-events", "--endpoint-url", endpoint.url, *args], stdin=io.BytesIO(stdin.encode()), stdout=out)
    return code, json.loads(out.getvalue()) if out.getvalue() else {}


def test_cli_inline_file_and_stdin(endpoint, tmp_path):
    entries = [{"Source": "cli", "DetailType": "T", "Detail": {"n": n}} for n in range(3)]
    path = tmp_path / "entries.json"
    path.write_text(json.dumps(entries))
    for args, stdin in [
        (["--entries", json.dumps(entries)], ""),
        (["--entries", f"file://{path}"], ""),
        (["--entries", "-"], json.dumps(entries)),
    ]:
        code, output = run_cli(endpoint, *args, "--event-bus-name", "bus", stdin=stdin)
        assert code == 0
        assert output["FailedEntryCount"] == 0 and len(output["Entries"]) == 3
    assert {a["EventBusName"] for a in endpoint.accepted()} == {"bus"}


def test_cli_exits_non_zero_when_an_entry_failed(endpoint):
    endpoint.configure(detail_rules=[{"contains": "bad", "code": "MalformedDetail"}])
    entries = [
        {"Source": "cli", "DetailType": "T", "Detail": '{"ok": 1}'},
        {"Source": "cli", "DetailType": "T", "Detail": '{"bad": 1}'},
    ]
    code, output = run_cli(endpoint, "--entries", json.dumps(entries))
    assert code == 1
    assert output["FailedEntryCount"] == 1
    assert "EventId" in output["Entries"][0] and output["Entries"][1]["ErrorCode"] == "MalformedDetail"


@pytest.mark.parametrize("value", ["{not json", '{"Source": "a"}', "file:///no/such/file.json"])
def test_cli_explains_unreadable_entries(endpoint, value, capsys):
    code, output = run_cli(endpoint, "--entries", value)
    assert code == 2 and output == {}
    assert "put-events:" in capsys.readouterr().err


def run_command(
    endpoint: FaultEndpoint, tmp_path, count: int, entries: list | None = None, **streams
) -> subprocess.CompletedProcess:
    """`python -m forwarder put-events` as its own process, on a file of `count` entries (or these)."""
    path = tmp_path / "entries.json"
    if entries is None:
        entries = [{"Source": "cli", "DetailType": "T", "Detail": {"n": n}} for n in range(count)]
    path.write_text(json.dumps(entries))
    command = [sys.executable, "-m", "forwarder", "put-events", "--entries", f"file://{path}"]
    return subprocess.run(
        [*command, "--endpoint-url", endpoint.url],
        timeout=120,
        check=False,
        **streams,
    )


def test_cli_thousands_of_entries_as_a_piped_process(endpoint, tmp_path):
    result = run_command(endpoint, tmp_path, 4500, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress when not on a terminal
    output = json.loads(result.stdout)
    assert output["FailedEntryCount"] == 0 and len(output["Entries"]) == 4500
    assert len(endpoint.accepted()) == 4500


def test_cli_shows_progress_on_a_terminal(endpoint, tmp_path):
    import pty

    primary, secondary = pty.openpty()
    with os.fdopen(primary, "rb", buffering=0) as terminal:
        result = run_command(endpoint, tmp_path, 10, stdout=subprocess.PIPE, stderr=secondary)
        os.close(secondary)
        shown = terminal.read(4096).decode()
    assert result.returncode == 0
    assert "10/10 entries sent, 0 failed" in shown


# The forms of the AWS CLI's Timestamp type ("Common parameter types"), each meaning 2014-10-01T20:30:00Z.
CLI_TIMES = ["1412195400", 1412195400, "2014-10-01t20:30:00.000z", "2014-10-01T20:30:00Z", "2014-10-01T22:30:00+02:00"]


def test_cli_takes_every_timestamp_form_the_aws_cli_takes(endpoint, tmp_path):
    # GIVEN entries whose Time is written in each form the AWS CLI accepts, and one it refuses
    entries = [{"Source": "cli", "DetailType": "T", "Detail": {"n": n}, "Time": t} for n, t in enumerate(CLI_TIMES)]
    entries.insert(2, {"Source": "cli", "DetailType": "T", "Detail": {"n": -1}, "Time": "yesterday"})
    # WHEN the command sends them, as its own process
    result = run_command(endpoint, tmp_path, 0, entries, capture_output=True, text=True)
    # THEN each means the same instant, as in the AWS CLI; the refused one fails alone
    output = json.loads(result.stdout)
    assert result.returncode == 1 and output["FailedEntryCount"] == 1
    assert output["Entries"][2]["ErrorCode"] == "InvalidArgument"
    assert [a["Time"] for a in endpoint.accepted()] == [1412195400] * len(CLI_TIMES)


def test_the_default_client_leaves_every_retry_to_max_attempts(monkeypatch):
    """Each entry is sent at most `max_attempts` times: botocore's client adds no retries of its own."""
    with FaultEndpoint(quota_requests_per_second=0.01, quota_burst_seconds=100) as throttling:  # one token
        monkeypatch.setenv("AWS_ENDPOINT_URL", throttling.url)
        results = put_events([entry(n) for n in range(20)], max_attempts=2)
        stats = throttling.stats()
    codes = [result.get("ErrorCode") for result in results]
    # The two requests go out together: either may take the one token, the other is refused twice.
    assert codes in ([None] * 10 + ["ThrottlingException"] * 10, ["ThrottlingException"] * 10 + [None] * 10)
    assert (stats["requests"], stats["faults"]["quota:request"]) == (3, 2)  # 1 accepted, then 2 sends of 10
