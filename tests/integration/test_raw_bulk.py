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
from forwarder.raw_cli import main
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
