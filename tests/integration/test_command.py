"""`python -m forwarder put-events` as its users meet it, each case run as its own process: AWS CLI habits (the
region, the credentials, the options), one-line errors with exit 2, pipes and files, an interrupt that keeps
every result, unreadable input, a bad bus among good ones, and the local recipe of docs/library.md.
(The wheel's own command, its help and its dependencies: test_package.py.)"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from forwarder import put_events
from forwarder.net.clients import create_client
from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

ENTRY = {"Source": "cli", "DetailType": "T", "Detail": {"n": 0}}


def entries(count: int) -> list[dict]:
    return [{**ENTRY, "Detail": {"n": n}} for n in range(count)]


def command(*args: str | Path, env: dict | None = None, stdin: bytes | None = None, cwd: Path | None = None,
            **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "forwarder", "put-events", *map(str, args)],
        input=stdin, capture_output=True, timeout=120, check=False, env=env, cwd=cwd, **kwargs
    )


def one_line(stderr: bytes) -> str:
    """The whole of what the command said: exactly one line, no traceback."""
    lines = stderr.decode().splitlines()
    assert len(lines) == 1, stderr.decode()
    return lines[0]


def no_aws_setup(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment without any region or credentials: no variables, empty AWS config files, no instance
    metadata (so nothing is asked of 169.254.169.254)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHONSTARTUP"))}
    (tmp_path / "config").write_text("")
    env |= {"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_EC2_METADATA_DISABLED": "true", **extra}
    return env


CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # noqa: S105 - not a secret


def signed_region(endpoint: FaultEndpoint) -> str:
    authorization = endpoint.recent_signing()[-1]["request"]["headers"]["Authorization"]
    return re.search(r"Credential=[^/]+/\d+/([^/]+)/", authorization).group(1)


# -- 1. the region, as the AWS CLI reads it -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "config", "args", "expected"),
    [
        ({"AWS_REGION": "eu-west-3"}, "", [], "eu-west-3"),  # AWS CLI v2, the SDKs and Lambda set only this
        ({"AWS_DEFAULT_REGION": "eu-west-2"}, "", [], "eu-west-2"),
        ({"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "eu-west-2"}, "", [], "eu-west-3"),
        ({}, "[default]\nregion = ap-south-1\n", [], "ap-south-1"),
        ({"AWS_PROFILE": "other"}, "[profile other]\nregion = sa-east-1\n", [], "sa-east-1"),
        # (with --profile, as in the AWS CLI, the profile's own credentials are used, not the variables')
        ({}, "[profile other]\nregion = sa-east-1\naws_access_key_id = a\naws_secret_access_key = b\n",
         ["--profile", "other"], "sa-east-1"),
        ({"AWS_REGION": "eu-west-3"}, "", ["--region", "us-west-2"], "us-west-2"),
    ],
)
def test_the_region_is_found_as_the_aws_cli_finds_it(endpoint, tmp_path, variables, config, args, expected):
    env = no_aws_setup(tmp_path, **CREDENTIALS, **variables)
    (tmp_path / "config").write_text(config)
    result = command("--entries", json.dumps(entries(1)), "--endpoint-url", endpoint.url, *args, env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert signed_region(endpoint) == expected


def test_the_library_reads_the_region_as_the_command_does(endpoint, tmp_path):
    env = no_aws_setup(tmp_path, **CREDENTIALS, AWS_REGION="eu-west-3", AWS_ENDPOINT_URL=endpoint.url)
    script = f"from forwarder import put_events; print(put_events([{ENTRY!r}]))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode()
    assert "EventId" in result.stdout.decode() and signed_region(endpoint) == "eu-west-3"


def test_without_a_region_one_line_says_so_and_nothing_is_sent(endpoint, tmp_path):
    result = command("--entries", json.dumps(entries(1)), "--endpoint-url", endpoint.url,
                     env=no_aws_setup(tmp_path, **CREDENTIALS))
    assert result.returncode == 2 and result.stdout == b""
    assert "You must specify a region" in one_line(result.stderr)
    assert endpoint.stats()["requests"] == 0


# -- 2. the credentials ----------------------------------------------------------------------------------------


def test_without_credentials_one_line_with_the_aws_cli_hint_before_anything_is_sent(endpoint, tmp_path):
    result = command("--entries", json.dumps(entries(3)), "--endpoint-url", endpoint.url,
                     env=no_aws_setup(tmp_path, AWS_REGION="us-east-1"))
    assert result.returncode == 2 and result.stdout == b""
    assert one_line(result.stderr) == (
        'put-events: Unable to locate credentials. You can configure credentials by running "aws configure".'
    )
    assert endpoint.stats()["requests"] == 0


def test_a_profile_that_does_not_exist_is_one_line_and_exit_2(endpoint, tmp_path):
    result = command("--entries", json.dumps(entries(1)), "--endpoint-url", endpoint.url, "--profile", "nope",
                     env=no_aws_setup(tmp_path, **CREDENTIALS, AWS_REGION="us-east-1"))
    assert result.returncode == 2
    assert "(nope) could not be found" in one_line(result.stderr)
    assert endpoint.stats()["requests"] == 0


# -- 3. the options: every number range-checked, --timeout and --max-attempts ---------------------------------


@pytest.mark.parametrize(
    "option",
    [
        ["--max-concurrency", "0"], ["--max-concurrency", "257"], ["--max-concurrency", "many"],
        ["--max-request-bytes", "10"], ["--max-request-bytes", str(2**21)],
        ["--max-attempts", "0"], ["--max-attempts", "21"], ["--max-attempts", "1.5"],
        ["--timeout", "0"], ["--timeout", "-1"], ["--timeout", "nan"], ["--timeout", "inf"], ["--timeout", "soon"],
        ["--no-such-option", "1"],
    ],
    ids=" ".join,
)
def test_an_option_out_of_range_is_one_line_and_exit_2_before_anything_is_sent(endpoint, option):
    result = command("--entries", json.dumps(entries(2)), "--endpoint-url", endpoint.url, *option)
    assert result.returncode == 2 and result.stdout == b""
    line = one_line(result.stderr)
    assert option[0] in line and "see --help" in line
    assert endpoint.stats()["requests"] == 0


@pytest.mark.parametrize(
    "numbers", [{"max_concurrency": 0}, {"max_request_bytes": 10}, {"max_attempts": 21}, {"timeout": 0},
                {"timeout": float("nan")}, {"max_attempts": True}],
)
def test_the_library_checks_the_same_ranges_before_anything_is_sent(endpoint, numbers):
    client = create_client("events", 1, endpoint_url=endpoint.url)
    with pytest.raises(ValueError, match=f"^{next(iter(numbers))} must be") as raised:
        put_events(entries(1), client=client, **numbers)
    assert "\n" not in str(raised.value)
    assert endpoint.stats()["requests"] == 0

def test_max_attempts_bounds_the_sends_of_each_entry(endpoint):
    endpoint.configure(detail_rules=[{"contains": "again", "code": "InternalFailure"}])
    batch = [{**ENTRY, "Detail": {"say": "again"}}, {**ENTRY, "Detail": {"say": "once"}}]
    result = command("--entries", json.dumps(batch), "--endpoint-url", endpoint.url, "--max-attempts", "3")
    output = json.loads(result.stdout)
    assert result.returncode == 1
    assert output["Entries"][0]["ErrorCode"] == "InternalFailure" and "after 3 attempts" in (
        output["Entries"][0]["ErrorMessage"]
    )
    assert endpoint.stats()["entries_received"] == 3 + 1


def test_timeout_ends_the_command_with_a_result_for_every_entry(endpoint):
    endpoint.configure(request_schedule=["slow"], slow_ms=5000)  # the first request is held past the timeout
    result = command("--entries", json.dumps(entries(3)), "--endpoint-url", endpoint.url, "--timeout", "0.5")
    output = json.loads(result.stdout)
    assert result.returncode == 1
    assert [entry["ErrorCode"] for entry in output["Entries"]] == ["DeadlineExceeded"] * 3


# -- 4. pipes and files -----------------------------------------------------------------------------------------


def test_a_reader_that_goes_away_ends_the_command_quietly(endpoint, tmp_path):
    path = tmp_path / "entries.json"
    path.write_text(json.dumps(entries(3000)))  # its output is far larger than a pipe's buffer
    process = subprocess.Popen(  # as `... | head -c 1`
        [sys.executable, "-m", "forwarder", "put-events", "--entries", f"file://{path}", "--endpoint-url",
         endpoint.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout.read(1) == b"{"
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 141  # as a shell shows a command SIGPIPE ended
    assert stderr == b""


def test_a_file_named_without_file_prefix_gets_the_hint(endpoint, tmp_path):
    (tmp_path / "events.json").write_text(json.dumps(entries(1)))
    result = command("--entries", "events.json", "--endpoint-url", endpoint.url, cwd=tmp_path)
    assert result.returncode == 2
    assert "--entries file://events.json" in one_line(result.stderr)


# -- 6. one bad bus among good ones ------------------------------------------------------------------------------


def test_an_entry_for_a_bus_that_does_not_exist_fails_alone(aws):
    """AWS accepts an entry for a bus that does not exist and drops it (EventBridge user guide, "Handling
    failures with PutEvents"); moto refuses its whole request with ResourceNotFoundException. Either way the
    entries for buses that exist are confirmed: the refused request is split until the entry at fault is alone."""
    batch = entries(9)
    batch[4] = {**batch[4], "EventBusName": "no-such-bus"}
    result = command("--entries", json.dumps(batch), "--endpoint-url", aws)
    output = json.loads(result.stdout)
    assert result.returncode == 1 and output["FailedEntryCount"] == 1
    assert output["Entries"][4]["ErrorCode"] == "ResourceNotFoundException"
    assert all("EventId" in entry for n, entry in enumerate(output["Entries"]) if n != 4)


def test_entries_that_all_name_the_missing_bus_fail_together_without_splitting(aws):
    batch = [{**entry, "EventBusName": "no-such-bus"} for entry in entries(8)]
    result = command("--entries", json.dumps(batch), "--endpoint-url", aws, "--max-attempts", "1")
    output = json.loads(result.stdout)
    assert result.returncode == 1
    assert {entry["ErrorCode"] for entry in output["Entries"]} == {"ResourceNotFoundException"}


# -- 9. the local recipe of docs/library.md ----------------------------------------------------------------------


def test_the_example_entries_go_to_a_local_emulator_as_docs_library_md_says(aws, tmp_path):
    recipe = (ROOT / "docs" / "library.md").read_text()
    assert "examples/entries.json" in recipe and "--endpoint-url" in recipe
    env = no_aws_setup(tmp_path, **CREDENTIALS, AWS_REGION="us-east-1")  # the recipe's dummy setup
    result = command("--entries", "file://examples/entries.json", "--endpoint-url", aws, env=env, cwd=ROOT)
    output = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr.decode()
    assert output["FailedEntryCount"] == 0 and len(output["Entries"]) == 2


# -- interrupted, it stops, waits briefly for what is in flight and prints every result ------------


@pytest.fixture
def slow_endpoint():
    with FaultEndpoint() as running:
        running.configure(latency_ms=40)  # 10,000 entries take seconds: time to interrupt them
        yield running


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_command_prints_every_result_and_what_was_not_sent(slow_endpoint, tmp_path, signum):
    path = tmp_path / "entries.json"
    path.write_text(json.dumps(entries(10_000)))
    process = subprocess.Popen(
        [sys.executable, "-m", "forwarder", "put-events", "--entries", f"file://{path}", "--endpoint-url",
         slow_endpoint.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    while slow_endpoint.stats()["entries_accepted"] < 2000 and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum and b"Traceback" not in stderr
    results = json.loads(stdout)["Entries"]
    assert len(results) == 10_000
    # Every entry that reached the bus says so, or (its answer later than the grace) that it may have; every
    # other entry says it was not sent: a rerun of those sends nothing twice.
    reached = assert_every_result_says_what_reached_the_bus(results, slow_endpoint)
    assert 0 < len(reached) < 10_000
    assert any(result.get("ErrorMessage", "").startswith("not sent") for result in results)


def assert_every_result_says_what_reached_the_bus(results: list[dict], endpoint) -> dict[int, str]:
    """Every entry that reached the bus says so, or (its answer later than the grace) that it may have; every
    other entry says it was not sent. Returns the entries that reached the bus, by their `n`."""
    reached = {json.loads(entry["Detail"])["n"]: entry["EventId"] for entry in endpoint.accepted()}
    for n, result in enumerate(results):
        if n in reached:
            assert result.get("EventId") == reached[n] or "may have reached the bus" in result["ErrorMessage"]
        else:  # not sent, or in flight past the grace (it says so, and may yet land)
            assert result["ErrorCode"] == "Interrupted"
            assert result["ErrorMessage"].startswith("not sent") or "may have reached" in result["ErrorMessage"]
    return reached


def test_the_library_returns_the_results_it_has_when_its_caller_stops_it(slow_endpoint):
    stop, results = threading.Event(), []
    client = create_client("events", 8, endpoint_url=slow_endpoint.url)
    worker = threading.Thread(target=lambda: results.extend(put_events(entries(5000), client=client, stop=stop)))
    worker.start()
    while slow_endpoint.stats()["entries_accepted"] < 500 and worker.is_alive():
        time.sleep(0.05)
    stop.set()
    worker.join(timeout=60)
    assert len(results) == 5000
    assert_every_result_says_what_reached_the_bus(results, slow_endpoint)


# -- unreadable input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_input_nested_too_deeply_is_one_line_and_exit_2(endpoint, tmp_path, where):
    deep = b"[" * 200_000
    path = tmp_path / "deep.json"
    path.write_bytes(deep)
    value, stdin = (f"file://{path}", None) if where == "file" else ("-", deep)
    result = command("--entries", value, "--endpoint-url", endpoint.url, stdin=stdin)
    assert result.returncode == 2
    assert "nested too deeply" in one_line(result.stderr)


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_input_that_is_not_utf8_is_refused_whatever_the_locale(endpoint, tmp_path, where):
    data = json.dumps([{**ENTRY, "Detail": {"name": "cafX"}}]).encode().replace(b"X", b"\xff")
    path = tmp_path / "latin.json"
    path.write_bytes(data)
    value, stdin = (f"file://{path}", None) if where == "file" else ("-", data)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    result = command("--entries", value, "--endpoint-url", endpoint.url, stdin=stdin, env=env)
    assert result.returncode == 2
    assert "not UTF-8" in one_line(result.stderr)
    assert endpoint.stats()["requests"] == 0

