"""The work before publishing (reading records, the Detail checks, shaping, the claim check) at a 256 MB function's
CPU share: it stops at the invocation's deadline as the publisher does, and costs little enough per byte that
Lambda's largest batch is forwarded in time.

A 6 MB SQS batch (six 1 MB bodies of arrays nested 5 deep) once took about 15 s at this share with no
expression set (18.5 s with EVENT_DETAIL): Lambda timed it out and delivered it again, on every delivery. The
handler runs in a child process under the CPU quota (test_cpu_share.py's harness); the fault endpoint takes
every entry, from this process, outside the quota.

The timed assertion is test_cpu_share.py's: "returned before Lambda's deadline".
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from forwarder_testing.cpu_share import run_throttled
from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.events import kinesis_record, sqs_record
from tests.integration.test_cpu_share import lambda_cpu  # noqa: F401 - fixture

pytestmark = [pytest.mark.cpu_share, pytest.mark.integration]

LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's invocation payload limit (the whole event)
REMAINING_MS = 10_000
CHILD_TIMEOUT_S = 120
BODY_CHARS = 1_000_000  # under the 1 MiB request limit with Source and DetailType
SQS_BODY_CHARS = 1024 * 1024  # SQS's largest message
# Every record's messageId and body carry its number, so that any Detail made of either names its record.
MARKER = re.compile(r"rec-(\d+)-")


@pytest.fixture
def bus() -> Iterator[FaultEndpoint]:
    with FaultEndpoint() as endpoint:
        yield endpoint


def nested_body(number: int, chars: int, levels: int = 5, seed: int = 0) -> str:
    """An order of about `chars` characters whose items are arrays nested `levels` deep."""
    rng = random.Random(seed)
    head = f'{{"id":"rec-{number}-","status":"PLACED","items":['
    parts, size = [], len(head) + 2
    while size < chars - 40:
        leaf = ",".join(str(rng.randrange(10)) for _ in range(rng.randrange(1, 8)))
        item = "[" * (levels - 1) + leaf + "]" * (levels - 1)
        parts.append(item)
        size += len(item) + 1
    return head + ",".join(parts) + "]}"


def batch(bodies: list[str], source: str = "sqs") -> dict:
    """An SQS batch (each messageId `rec-<n>-`), or a Kinesis one (each partition key `rec-<n>-`)."""
    if source == "kinesis":
        return {"Records": [kinesis_record(body.encode(), sequence=n, partition_key=f"rec-{n}-")
                            for n, body in enumerate(bodies)]}
    return {"Records": [sqs_record(body, message_id=f"rec-{n}-") for n, body in enumerate(bodies)]}


def item_ids(event: dict) -> list[str]:
    return [record.get("messageId") or record["kinesis"]["sequenceNumber"] for record in event["Records"]]


def invoke_batch(join, bus: FaultEndpoint, tmp_path: Path, event: dict, env: dict[str, str]) -> tuple[dict, dict]:
    """One invocation of `event` in a child throttled by `join`: its result and its "batch done" summary."""
    event_path, result_path, log_path = tmp_path / "event.json", tmp_path / "result.json", tmp_path / "handler.log"
    event_path.write_text(json.dumps(event))
    config = {
        "env": {"AWS_ENDPOINT_URL": bus.url, **env},
        "event_path": str(event_path),
        "remaining_ms": REMAINING_MS,
        "result_path": str(result_path),
    }
    run_throttled(join, [sys.executable, "-m", "forwarder_testing.cpu_share", json.dumps(config)], log_path,
                  CHILD_TIMEOUT_S)
    log = log_path.read_text()
    summary = next(json.loads(line) for line in log.splitlines() if '"batch done"' in line)
    return json.loads(result_path.read_text()), summary


def outcomes_by_record(event: dict, bus: FaultEndpoint, result: dict, summary: dict) -> dict[str, list[str]]:
    """Each record's outcomes: "forwarded" per entry the bus took for it, "reported" if the response names it."""
    ids = item_ids(event)
    found: dict[str, list[str]] = {item_id: [] for item_id in ids}
    for entry in bus.accepted():
        found[ids[int(MARKER.search(entry["Detail"]).group(1))]].append("forwarded")
    for item_id in result["reported_ids"]:
        found[item_id].append("reported")
    # The rest were left out by the filter (done, not forwarded): as many as the summary counts.
    left_out = [item_id for item_id, outcome in found.items() if not outcome]
    assert len(left_out) == summary["filtered"], (left_out, summary)
    for item_id in left_out:
        found[item_id].append("filtered")
    return found


def assert_in_time(result: dict, summary: dict) -> None:
    overshoot_ms = result["elapsed_s"] * 1000 - REMAINING_MS
    assert overshoot_ms < 0, f"returned {overshoot_ms:.0f} ms after Lambda's deadline; {summary}"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"EVENT_DETAIL": "{orderId: body.id, items: body.items}"},
        {"EVENT_FILTER": "body.status == 'PLACED'"},
    ],
    ids=["no-expression", "event-detail", "event-filter"],
)
def test_six_one_megabyte_nested_bodies_are_forwarded_within_a_ten_second_timeout(
    lambda_cpu, bus, tmp_path, env  # noqa: F811
):
    event = batch([nested_body(n, BODY_CHARS, seed=n) for n in range(6)])
    assert len(json.dumps(event)) <= LAMBDA_PAYLOAD_BYTES
    result, summary = invoke_batch(lambda_cpu, bus, tmp_path, event, env)
    assert_in_time(result, summary)
    outcomes = outcomes_by_record(event, bus, result, summary)
    assert all(outcome == ["forwarded"] for outcome in outcomes.values()), (outcomes, summary)


# ---- Any batch up to Lambda's 6 MB: in time, and exactly one outcome per record. ----

def _body(number: int, kind: str, chars: int, seed: int) -> str:
    if kind == "nested":
        return nested_body(number, chars, levels=1 + seed % 6, seed=seed)
    if kind == "deep":  # past EventBridge's depth: goes on wrapped as text
        levels = min(1500, max(1, chars // 2 - 20))
        return f'{{"id":"rec-{number}-","deep":' + "[" * levels + "]" * levels + "}"
    if kind == "big-numbers":  # a uint64 id and NaN: JSON for the record view, refused by EventBridge as they are
        pad = ",".join(["18446744073709551615", "NaN", "1e999"] * max(1, chars // 40))
        return f'{{"id":"rec-{number}-","status":"PLACED","n":[{pad}]}}'
    return f"rec-{number}- " + "plain text [{ " * max(1, chars // 15)  # not JSON


EVENT_OVERHEAD = 500 * 1024  # room for the records' own fields (about 700 bytes each) beside their bodies
SPECS = st.lists(
    # Mostly the costly kind: arrays nested a few levels deep, a node every two bytes.
    st.tuples(st.sampled_from(["nested", "nested", "nested", "deep", "big-numbers", "text"]), st.integers(1, 100),
              st.integers(0, 1000)),
    min_size=1,
    max_size=500,
)
TOTALS = st.one_of(st.just(LAMBDA_PAYLOAD_BYTES - EVENT_OVERHEAD), st.integers(1_000, LAMBDA_PAYLOAD_BYTES))


def _bodies(specs: list[tuple[str, int, int]], total: int, source: str) -> list[str]:
    """Bodies of the given kinds sharing `total` characters by their weights, the event kept within 6 MB (Kinesis
    data is base64 in the event: 4 bytes for 3)."""
    total = min(total, LAMBDA_PAYLOAD_BYTES - EVENT_OVERHEAD - 700 * len(specs))
    if source == "kinesis":
        total = total * 3 // 4
    weights = sum(weight for _, weight, _ in specs)
    return [_body(n, kind, min(SQS_BODY_CHARS, max(10, total * weight // weights)), seed)
            for n, (kind, weight, seed) in enumerate(specs)]


# The record's own name (messageId, or the Kinesis partition key) in every shaped Detail, whatever the body.
EXPRESSIONS = st.sampled_from([
    {},
    {"EVENT_DETAIL": "{name: [messageId, kinesis.partitionKey], items: body.items, n: body.n}"},
    {"EVENT_FILTER": "body.status == 'PLACED'"},
    {"EVENT_FILTER": "body.status == 'PLACED'", "EVENT_DETAIL": "{name: [messageId, kinesis.partitionKey], all: body}"},
])


@hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(source=st.sampled_from(["sqs", "kinesis"]), specs=SPECS, total=TOTALS, env=EXPRESSIONS)
@example(  # six bodies of arrays nested 5 deep, the costliest shape per byte
    source="sqs", specs=[("nested", 1, 6 * n + 4) for n in range(6)], total=LAMBDA_PAYLOAD_BYTES, env={}
)
def test_any_batch_up_to_six_megabytes_returns_in_time_with_one_outcome_per_record(
    lambda_cpu, tmp_path_factory, source, specs, total, env  # noqa: F811
):
    event = batch(_bodies(specs, total, source), source)
    assert len(json.dumps(event)) <= LAMBDA_PAYLOAD_BYTES
    with FaultEndpoint() as endpoint:
        result, summary = invoke_batch(lambda_cpu, endpoint, tmp_path_factory.mktemp("batch"), event, env)
        outcomes = outcomes_by_record(event, endpoint, result, summary)
    print(f"{source}: {len(specs)} records, {len(json.dumps(event))} bytes, {env}: {result['elapsed_s']:.2f} s, "
          f"{result['cpu_s']:.2f} s CPU; {summary['failures_by_code']}")
    assert_in_time(result, summary)
    assert all(len(outcome) == 1 for outcome in outcomes.values()), outcomes
    assert summary["received"] == len(specs)
