"""`forwarder.put_raw_events` and `python -m forwarder put-raw-events`, through the fault endpoint's PutRawEvents."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys

import pytest

from forwarder import put_raw_events
from forwarder.command.raw_cli import main
from forwarder_testing.fault_endpoint.v2_raw import raw_data

pytestmark = pytest.mark.integration
BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"


@pytest.fixture
def local(endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
    return endpoint


def test_any_number_of_entries_in_requests_of_100_with_groups_in_order(local):
    entries = [{"Data": f"{g}-{n}".encode(), "SystemMetadata": {"ContentType": "application/octet-stream",
                                                                "EventGroupId": g, "DeduplicationId": f"{g}{n}"}}
               for n in range(120) for g in "ab"]
    local.configure(entry_schedule=["ok", "ThrottlingException"])
    results = put_raw_events(entries, event_bus_arn=BUS)
    assert len(results) == 240 and all("EventId" in result for result in results)
    for group in "ab":
        sent = [raw_data(e) for e in local.accepted_v2() if e["SystemMetadata"]["EventGroupId"] == group]
        assert sent == [f"{group}-{n}".encode() for n in range(120)]


def test_a_bad_entry_fails_alone_and_a_missing_content_type_is_detected(local):
    results = put_raw_events([
        {"Data": b'{"specversion": "1.0"}'},
        {"Data": b"x", "Metadata": {"a/b": "v"}},
        {"Data": "text", "SystemMetadata": {}},
        "not an entry",
    ], event_bus_arn=BUS, schema_registry={"RegistryUri": "https://registry.example.com"})
    assert ["EventId" in r for r in results] == [True, False, True, False]
    assert results[1]["ErrorCode"] == "InvalidArgument" and "pattern" in results[1]["ErrorMessage"]
    first, third = local.accepted_v2()
    assert first["SystemMetadata"]["ContentType"] == "application/cloudevents+json"
    assert raw_data(third) == b"text" and third["SystemMetadata"]["ContentType"] == "application/octet-stream"
    assert first["SchemaRegistryConfiguration"] == {"RegistryUri": "https://registry.example.com"}


def test_the_bus_must_be_a_custom_event_bus():
    with pytest.raises(ValueError, match="event_bus_arn"):
        put_raw_events([{"Data": b"x"}], event_bus_arn="orders")


def test_the_command_reads_base64_data_and_prints_the_aws_cli_shape(local, tmp_path):
    avro = {"Data": base64.b64encode(b"\x00\x01avro").decode(), "SystemMetadata": {"ContentType": "application/avro"}}
    entries = [avro, {"Data": "not base64!"}]
    path = tmp_path / "entries.json"
    path.write_text(json.dumps(entries))
    out = io.StringIO()
    code = main(["--entries", f"file://{path}", "--event-bus-arn", BUS, "--endpoint-url", local.url], stdout=out)
    printed = json.loads(out.getvalue())
    assert code == 1 and printed["FailedEntryCount"] == 1
    assert "EventId" in printed["Entries"][0] and printed["Entries"][1]["ErrorCode"] == "InvalidArgument"
    assert [raw_data(e) for e in local.accepted_v2()] == [b"\x00\x01avro"]


def test_python_dash_m_forwarder_put_raw_events(local):
    env = {**os.environ, "AWS_ENDPOINT_URL": local.url}
    done = subprocess.run(
        [sys.executable, "-m", "forwarder", "put-raw-events", "--event-bus-arn", BUS, "--cli-binary-format",
         "raw-in-base64-out", "--entries", json.dumps([{"Data": '{"n": 1}'}])],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["FailedEntryCount"] == 0
    (accepted,) = local.accepted_v2()
    assert raw_data(accepted) == b'{"n": 1}' and accepted["SystemMetadata"]["ContentType"] == "application/json"


def command(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forwarder", "put-raw-events", *args], capture_output=True,
                          text=True, env=env or dict(os.environ), timeout=60, check=False)


@pytest.mark.parametrize("option", [["--max-concurrency", "0"], ["--max-request-bytes", "10"],
                                    ["--max-attempts", "0"], ["--timeout", "-1"], ["--event-bus-arn", "orders"]])
def test_the_command_refuses_a_number_out_of_range_or_a_bus_that_is_not_custom_in_one_line(option):
    arguments = {"--event-bus-arn": BUS, "--entries": "[]"}
    arguments[option[0]] = option[1]
    done = command(*(part for pair in arguments.items() for part in pair))
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and option[0] in done.stderr


def test_the_command_without_credentials_says_so_in_one_line_before_sending(local, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_ENDPOINT_URL=local.url)
    done = command("--event-bus-arn", BUS, "--entries", json.dumps([{"Data": "eA=="}]), env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        'put-raw-events: Unable to locate credentials. You can configure credentials by running "aws configure".'
    ]
    assert local.accepted_v2() == []


def test_the_command_reads_standard_input_as_strict_utf8(local):
    done = subprocess.run([sys.executable, "-m", "forwarder", "put-raw-events", "--event-bus-arn", BUS, "--entries",
                           "-"], input=b'[{"Data": "caf\xff"}]', capture_output=True,
                          env={**os.environ, "LC_ALL": "C", "PYTHONIOENCODING": "", "AWS_ENDPOINT_URL": local.url},
                          timeout=60, check=False)
    assert done.returncode == 2 and b"not UTF-8" in done.stderr
    assert local.accepted_v2() == []
