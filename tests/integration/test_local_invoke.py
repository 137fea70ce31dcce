"""tools/local_invoke/ end to end: the real Lambda runtime client, our Runtime API, moto on 127.0.0.1.

Every file in events/ goes through the handler and must come back as a partial batch response. Until the
forwarder's handler exists in src/, a throwaway handler written into a temp dir stands in for it; once it
exists, the same checks run against it too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from forwarder_testing.events import item_ids

ROOT = Path(__file__).resolve().parents[2]
EVENTS = sorted((ROOT / "events").glob("*.json"))
REAL_HANDLER = ROOT / "src" / "forwarder" / "handler.py"

pytestmark = pytest.mark.integration

# A stand-in with the real one's contract: settings read at import (a missing one fails init and names
# the variable), one PutEvents entry per record, failed entries reported by messageId / sequenceNumber.
THROWAWAY_HANDLER = """
import base64, json, os
import boto3

def _required(name):
    value = os.environ.get(name, "").strip()
    if not value:
        raise ValueError(f"{name} is required and must not be empty")
    return value

SOURCE = _required("EVENT_SOURCE")
DETAIL_TYPE = _required("EVENT_DETAIL_TYPE")
BUS = os.environ.get("EVENT_BUS_NAME", "").strip() or "default"
EVENTS = boto3.client("events")

def _item(record):
    if "kinesis" in record:
        raw = base64.b64decode(record["kinesis"]["data"])
        ident = record["kinesis"]["sequenceNumber"]
        try:
            detail = json.loads(raw.decode("utf-8"))
        except ValueError:
            detail = {"data": record["kinesis"]["data"]}
    else:
        ident = record["messageId"]
        try:
            detail = json.loads(record["body"])
        except ValueError:
            detail = {"body": record["body"]}
    if not isinstance(detail, dict):
        detail = {"value": detail}
    entry = {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail), "EventBusName": BUS}
    trace = record.get("attributes", {}).get("AWSTraceHeader")
    if trace:
        entry["TraceHeader"] = trace
    return ident, entry

def lambda_handler(event, context):
    print(f"{len(event['Records'])} records, {context.get_remaining_time_in_millis()} ms left, "
          f"trace {os.environ.get('_X_AMZN_TRACE_ID')}")
    items = [_item(record) for record in event["Records"]]
    failed = []
    for start in range(0, len(items), 10):
        chunk = items[start:start + 10]
        result = EVENTS.put_events(Entries=[entry for _, entry in chunk])
        failed += [ident for (ident, _), res in zip(chunk, result["Entries"]) if res.get("ErrorCode")]
    return {"batchItemFailures": [{"itemIdentifier": ident} for ident in failed]}

def boom(event, context):
    raise RuntimeError("boom from the handler")

def slow(event, context):
    import time
    time.sleep(30)
"""

SETTINGS = (
    "EVENT_BUS_NAME",
    "EVENT_SOURCE",
    "EVENT_DETAIL_TYPE",
    "EVENT_SOURCE_PATH",
    "EVENT_DETAIL_TYPE_PATH",
)


@pytest.fixture(scope="module")
def throwaway(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    code_root = tmp_path_factory.mktemp("code")
    (code_root / "standin").mkdir()
    (code_root / "standin" / "__init__.py").write_text("")
    (code_root / "standin" / "handler.py").write_text(THROWAWAY_HANDLER)
    return "standin.handler", code_root


HANDLERS = [
    pytest.param("throwaway", id="throwaway-handler"),
    pytest.param(
        "real",
        id="forwarder-handler",
        marks=pytest.mark.skipif(
            not REAL_HANDLER.exists(), reason="src/forwarder/handler.py not written yet"
        ),
    ),
]


@pytest.fixture(params=HANDLERS)
def handler_args(request: pytest.FixtureRequest, throwaway: tuple[str, Path]) -> list[str]:
    if request.param == "real":
        return []  # the tool's defaults: forwarder.handler.lambda_handler in src/
    module, code_root = throwaway
    return ["--handler", f"{module}.lambda_handler", "--code-root", str(code_root)]


def run_tool(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS and not k.startswith("AWS_ENDPOINT_URL")}
    return subprocess.run(  # noqa: S603 - fixed argv: our interpreter running our tool
        [sys.executable, "-m", "tools.local_invoke", *args],
        cwd=ROOT,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )




def reached_bus(stderr: str) -> list[dict[str, Any]]:
    match = re.search(r"\[local-invoke\] (\d+) event\(s\) reached bus '[^']*':?\n", stderr)
    assert match, stderr
    count = int(match.group(1))
    lines = stderr[match.end() :].splitlines()[:count]
    return [json.loads(line) for line in lines]


# Where the bus sees another number of events than Lambda hands records: a KPL aggregate of
# three user records, plus one plain record.
EVENTS_ON_BUS = {"kinesis-kpl": 4}


def assert_partial_batch_response(stdout: str, event: dict[str, Any]) -> list[str]:
    response = json.loads(stdout)
    assert isinstance(response, dict) and set(response) == {"batchItemFailures"}, response
    failures = response["batchItemFailures"]
    assert isinstance(failures, list)
    ids = item_ids(event)
    for failure in failures:
        assert set(failure) == {"itemIdentifier"}, failure
        assert failure["itemIdentifier"] in ids, f"unknown itemIdentifier {failure['itemIdentifier']!r}"
    return [failure["itemIdentifier"] for failure in failures]


@pytest.mark.parametrize("event_file", EVENTS, ids=[path.stem for path in EVENTS])
def test_every_sample_event_gives_a_partial_batch_response(event_file: Path, moto_url: str) -> None:
    handler_args: list[str] = []  # the real handler: the stand-in reads only the simplest shapes
    # GIVEN a sample event and a running emulator
    event = json.loads(event_file.read_text())

    # WHEN the tool invokes the handler in the runtime client
    result = run_tool(*handler_args, "--endpoint-url", moto_url, str(event_file))

    # THEN it exits 0, stdout is a partial batch response, and every record reached the bus or was reported
    assert result.returncode == 0, result.stderr
    failed = assert_partial_batch_response(result.stdout, event)
    reached = reached_bus(result.stderr)
    assert len(reached) + len(failed) == EVENTS_ON_BUS.get(event_file.stem, len(event["Records"])), result.stderr
    assert {item["source"] for item in reached} <= {"local.invoke"}
    assert {item["detail-type"] for item in reached} <= {"LocalInvoke"}


def test_starts_its_own_moto_and_creates_the_named_bus(throwaway: tuple[str, Path]) -> None:
    # GIVEN no endpoint and a custom bus name
    module, code_root = throwaway
    event_file = ROOT / "events" / "sqs-trace.json"

    # WHEN the tool runs with its defaults
    result = run_tool(
        "--handler",
        f"{module}.lambda_handler",
        "--code-root",
        str(code_root),
        "--create-bus",
        str(event_file),
        env={"EVENT_BUS_NAME": "orders-bus", "EVENT_SOURCE": "shop.orders"},
    )

    # THEN it says it made the bus; the events reached it, with the caller's EVENT_SOURCE; the function saw a
    # trace id
    assert result.returncode == 0, result.stderr
    assert "created event bus 'orders-bus' (--create-bus)" in result.stderr
    assert_partial_batch_response(result.stdout, json.loads(event_file.read_text()))
    assert "reached bus 'orders-bus'" in result.stderr
    reached = reached_bus(result.stderr)
    assert len(reached) == 3
    assert {item["source"] for item in reached} == {"shop.orders"}
    assert re.search(r"trace Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16}", result.stderr)


def test_missing_setting_is_an_init_error_naming_it(handler_args: list[str], moto_url: str) -> None:
    # GIVEN EVENT_SOURCE set but empty, which the function must refuse at init
    # WHEN the tool invokes it
    result = run_tool(*handler_args, "--endpoint-url", moto_url, "events/sqs.json", env={"EVENT_SOURCE": ""})

    # THEN it fails as an init error (exit 3) and the message names the variable
    assert result.returncode == 3, result.stderr
    init_line = next(line for line in result.stderr.splitlines() if "init error:" in line)
    assert "EVENT_SOURCE" in init_line
    assert "EVENT_SOURCE" in json.loads(result.stdout)["errorMessage"]


def test_handler_exception_is_an_invoke_error(throwaway: tuple[str, Path], moto_url: str) -> None:
    module, code_root = throwaway
    result = run_tool(
        "--handler",
        f"{module}.boom",
        "--code-root",
        str(code_root),
        "--endpoint-url",
        moto_url,
        "events/sqs.json",
    )
    assert result.returncode == 1, result.stderr
    error = json.loads(result.stdout)
    assert error["errorType"] == "RuntimeError"
    assert error["errorMessage"] == "boom from the handler"
    assert "invoke error: RuntimeError: boom from the handler" in result.stderr


def test_handler_past_its_deadline_is_a_timeout(throwaway: tuple[str, Path], moto_url: str) -> None:
    module, code_root = throwaway
    result = run_tool(
        "--handler",
        f"{module}.slow",
        "--code-root",
        str(code_root),
        "--endpoint-url",
        moto_url,
        "--timeout",
        "1",
        "events/sqs.json",
    )
    assert result.returncode == 4, result.stderr
    assert "Task timed out after 1 seconds" in result.stderr
    assert result.stdout == ""


def test_a_bus_that_does_not_exist_is_not_made_unasked_and_the_records_are_reported() -> None:
    # GIVEN a bus name the emulator does not know, and no --create-bus
    event_file = ROOT / "events" / "sqs-fifo.json"
    # (the visibility backoff on, as deployed: the suite's environment turns it off)
    result = run_tool(str(event_file), env={"EVENT_BUS_NAME": "no-such-bus", "VISIBILITY_BACKOFF_MAX_SECONDS": "240"})
    # THEN the tool says so, the function fails as on AWS (every record reported), and the visibility calls on
    # the event's source queue (which holds its messages) work: no warning that says nothing of the function
    assert result.returncode == 0, result.stderr
    assert "event bus 'no-such-bus' does not exist" in result.stderr and "--create-bus" in result.stderr
    assert "source queue 'orders-events.fifo' holds the event's 6 message(s)" in result.stderr
    event = json.loads(event_file.read_text())
    assert sorted(assert_partial_batch_response(result.stdout, event)) == sorted(item_ids(event))
    assert "visibility not changed" not in result.stderr
    assert '"visibility_changed":6' in result.stderr


def test_an_init_error_of_several_lines_is_kept_whole(moto_url: str) -> None:
    # GIVEN an expression JMESPath cannot parse: its error points at the place on lines of their own
    result = run_tool("--endpoint-url", moto_url, "events/sqs.json", env={"EVENT_DETAIL": "body.["})
    assert result.returncode == 3, result.stderr
    message = json.loads(result.stdout)["errorMessage"]
    assert "\n" in message
    # THEN every line of it is in the summary, each with the tool's prefix
    summary = [line for line in result.stderr.splitlines() if line.startswith("[local-invoke]")]
    start = next(i for i, line in enumerate(summary) if "init error: ConfigurationError: EVENT_DETAIL" in line)
    lines = message.splitlines()
    assert summary[start].endswith(lines[0])
    assert [line.removeprefix("[local-invoke]   ") for line in summary[start + 1 : start + len(lines)]] == lines[1:]
