"""Hostile input: each case with its expected outcome, through the handler against the fault endpoint.

The endpoint validates Detail as the real service does (a JSON object, at most 1000 levels, integers
within int64), so "forwarded" means EventBridge would have taken it. Per-record problems never raise
out of the handler: a record is forwarded (wrapped where needed; the table says what Detail the
endpoint accepted) or reported with its reason logged. Only an event that is not a readable batch as a
whole raises, so Lambda retries it. The summary log line's counts add up, so nothing is counted twice.

The request limit is the old one, 262144 bytes, so that the cases "just under" and "just over" are
cheap; an entry's size is Source "test.forwarder" (14) + DetailType "TestEvent" (9) + Time (14) +
Detail, which must stay *below* the limit.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from forwarder.records.record import EventError
from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.events import kinesis_record, sqs_record
from tests.conftest import load_event
from tests.integration.test_handler import log_lines

pytestmark = pytest.mark.integration

LIMIT = 262_144
FIXED = 14 + 9 + 14  # Source + DetailType + Time
UNDER = '{"p":"' + "u" * (LIMIT - 1 - FIXED - 8) + '"}'  # entry of LIMIT - 1 bytes
OVER = '{"p":"' + "o" * (LIMIT - FIXED - 8) + '"}'  # entry of exactly LIMIT bytes
DEEP_1500_OBJECT = '{"a":' * 1500 + "1" + "}" * 1500
DEEP_1500_ARRAY = "[" * 1500 + "]" * 1500
DEEP_1000_OBJECT = '{"a":' * 999 + "{}" + "}" * 999  # exactly the service's 1000 levels
DEEP_1000_ARRAY = "[" * 1000 + "]" * 1000  # wrapped in {"data": ...} it would be 1001 levels
INVALID_UTF8 = b"\xff\xfe\x00\x80 not utf-8"
SEQUENCE = itertools.count()


@dataclass(frozen=True)
class Raw:
    """Detail must be exactly this text (the body passed on untouched)."""

    text: str


@dataclass(frozen=True)
class Wrapped:
    """Detail must parse to this value."""

    value: Any


@dataclass(frozen=True)
class Reported:
    """The record is named in batchItemFailures with this error code, and nothing is sent for it."""

    code: str


def sqs(
    body: str | None = None, drop: tuple[str, ...] = (), drop_attributes: tuple[str, ...] = (), **attributes: Any
) -> dict:
    record = sqs_record(body if body is not None else "")
    for key in drop:
        record.pop(key)
    for key in drop_attributes:
        record["attributes"].pop(key)
    if attributes:
        record["attributes"].update(attributes)
    return record


def kinesis(data: bytes | None = None, raw_data: Any = "unset", **fields: Any) -> dict:
    record = kinesis_record(data or b"", sequence=next(SEQUENCE))
    if raw_data != "unset":
        record["kinesis"]["data"] = raw_data
    record["kinesis"].update(fields)
    return record


def dynamodb(**change: Any) -> dict:
    """The INSERT of events/dynamodb.json, with its own sequence number and the given fields replaced."""
    record = copy.deepcopy(load_event("dynamodb.json")["Records"][0])
    record["dynamodb"].update(SequenceNumber=str(900000000000000000000 + next(SEQUENCE)), **change)
    return record


# (case, Lambda record, expected outcome)
RECORD_CASES: list[tuple[str, dict, Raw | Wrapped | Reported]] = [
    ("empty body", sqs(""), Wrapped({"data": ""})),
    ("whitespace", sqs(" \t\r\n "), Wrapped({"data": " \t\r\n "})),
    ("null", sqs("null"), Wrapped({"data": None})),
    ("true", sqs("true"), Wrapped({"data": True})),
    ("integer", sqs("42"), Wrapped({"data": 42})),
    ("float", sqs("-1.5e3"), Wrapped({"data": -1500.0})),
    ("float beyond double", sqs("1e400"), Wrapped({"data": "1e400"})),
    ("BOM before an object", sqs('\ufeff{"a": 1}'), Raw('{"a": 1}')),
    ("BOM before text", sqs("\ufeffhello"), Wrapped({"data": "\ufeffhello"})),
    ("duplicate keys", sqs('{"a": 1, "a": 2}'), Raw('{"a": 1, "a": 2}')),
    ("NaN", sqs("NaN"), Wrapped({"data": "NaN"})),
    ("NaN inside an object", sqs('{"x": NaN}'), Wrapped({"data": '{"x": NaN}'})),
    ("Infinity inside an array", sqs("[Infinity]"), Wrapped({"data": "[Infinity]"})),
    ("int64 max", sqs('{"n": 9223372036854775807}'), Raw('{"n": 9223372036854775807}')),
    ("beyond int64", sqs('{"n": 9223372036854775808}'), Wrapped({"data": '{"n": 9223372036854775808}'})),
    ("below int64", sqs('{"n": -9223372036854775809}'), Wrapped({"data": '{"n": -9223372036854775809}'})),
    ("bare integer beyond int64", sqs("18446744073709551616"), Wrapped({"data": "18446744073709551616"})),
    ("object 1500 deep", sqs(DEEP_1500_OBJECT), Wrapped({"data": DEEP_1500_OBJECT})),
    ("array 1500 deep", sqs(DEEP_1500_ARRAY), Wrapped({"data": DEEP_1500_ARRAY})),
    ("object 1000 deep", sqs(DEEP_1000_OBJECT), Raw(DEEP_1000_OBJECT)),
    ("array 1000 deep", sqs(DEEP_1000_ARRAY), Wrapped({"data": DEEP_1000_ARRAY})),
    ("lone surrogate in an object", sqs('{"s": "\ud800"}'), Raw('{"s": "\ud800"}')),
    ("escaped lone surrogate", sqs('{"s": "\\udc00"}'), Raw('{"s": "\\udc00"}')),
    ("lone surrogate in text", sqs("ab\udc00"), Wrapped({"data": "ab\udc00"})),
    ("control byte in a JSON string", sqs('{"s": "a\x01b"}'), Wrapped({"data": '{"s": "a\x01b"}'})),
    ("control bytes as text", sqs("\x00\x07\x1b[31m"), Wrapped({"data": "\x00\x07\x1b[31m"})),
    ("JSON string", sqs('"hello"'), Wrapped({"data": "hello"})),
    ("JSON array", sqs('[1, "two"]'), Wrapped({"data": [1, "two"]})),
    ("XML", sqs('<?xml version="1.0"?><order id="1"/>'), Wrapped({"data": '<?xml version="1.0"?><order id="1"/>'})),
    ("unterminated object", sqs('{"a": 1'), Wrapped({"data": '{"a": 1'})),
    ("200 KB of text", sqs("x" * 200_000), Wrapped({"data": "x" * 200_000})),
    ("just under the size limit", sqs(UNDER), Raw(UNDER)),
    ("just over the size limit", sqs(OVER), Reported("EntryTooLarge")),
    ("no body", sqs(drop=("body",)), Wrapped({"data": None})),
    ("no attributes", sqs('{"a": 1}', drop=("attributes",)), Raw('{"a": 1}')),
    ("no SentTimestamp", sqs('{"a": 1}', drop_attributes=("SentTimestamp",)), Raw('{"a": 1}')),
    ("kinesis JSON", kinesis(b'{"k": 1}'), Raw('{"k": 1}')),
    ("kinesis invalid UTF-8", kinesis(INVALID_UTF8), Wrapped({"dataBase64": base64.b64encode(INVALID_UTF8).decode()})),
    ("kinesis invalid base64", kinesis(raw_data="%%% not base64"), Reported("InvalidRecord")),
    ("kinesis data missing", kinesis(raw_data=None), Reported("InvalidRecord")),
    # A field of the wrong type or out of range is left out; the record is forwarded without it.
    ("SentTimestamp beyond a double", sqs('{"a": 1}', SentTimestamp=10**400), Raw('{"a": 1}')),
    ("SentTimestamp not a number", sqs('{"a": 1}', SentTimestamp=[1]), Raw('{"a": 1}')),
    ("AWSTraceHeader an integer", sqs('{"a": 1}', AWSTraceHeader=5), Raw('{"a": 1}')),
    ("AWSTraceHeader an object", sqs('{"a": 1}', AWSTraceHeader={"Root": "1-2-3"}), Raw('{"a": 1}')),
    ("arrival beyond a double", kinesis(b'{"k": 1}', approximateArrivalTimestamp=10**400), Raw('{"k": 1}')),
    ("partition key an integer", kinesis(b'{"k": 1}', partitionKey=7), Raw('{"k": 1}')),
    # A DynamoDB image that is not DynamoDB JSON fails alone.
    ("DynamoDB N not a number", dynamodb(Keys={"pk": {"N": "abc"}}), Reported("InvalidRecord")),
    ("DynamoDB N a signalling NaN", dynamodb(NewImage={"n": {"N": "sNaN"}}), Reported("InvalidRecord")),
    ("DynamoDB N infinite", dynamodb(NewImage={"n": {"N": "Infinity"}}), Reported("InvalidRecord")),
    ("DynamoDB unknown type", dynamodb(NewImage={"n": {"X": "1"}}), Reported("InvalidRecord")),
    ("DynamoDB Keys a list", dynamodb(Keys=[{"pk": {"S": "a"}}]), Reported("InvalidRecord")),
    ("DynamoDB creation time beyond a double", dynamodb(ApproximateCreationDateTime=10**400), Wrapped(None)),
]
NO_TIME = {
    "no attributes",
    "no SentTimestamp",
    "SentTimestamp beyond a double",
    "SentTimestamp not a number",
    "arrival beyond a double",
    "DynamoDB creation time beyond a double",
}

# (case, event, what the EventError says): the whole batch is retried by Lambda
EVENT_CASES: list[tuple[str, Any, str]] = [
    ("no messageId", {"Records": [sqs("{}", drop=("messageId",))]}, "no messageId"),
    ("empty messageId", {"Records": [{**sqs("{}"), "messageId": ""}]}, "no messageId"),
    ("no sequenceNumber", {"Records": [{**kinesis(b"{}"), "kinesis": {"data": "e30="}}]}, "no sequenceNumber"),
    ("kinesis record without kinesis", {"Records": [{"eventSource": "aws:kinesis"}]}, "no 'kinesis' object"),
    ("None", None, "no 'Records' list"),
    ("a list", [sqs("{}")], "no 'Records' list"),
    ("empty object", {}, "no 'Records' list"),
    ("Records not a list", {"Records": "x"}, "no 'Records' list"),
    ("a record that is not an object", {"Records": [1]}, "unsupported eventSource"),
    ("unknown source", {"Records": [{**sqs("{}"), "eventSource": "aws:sns"}]}, "unsupported eventSource"),
    ("mixed sources", {"Records": [sqs("{}"), kinesis(b"{}")]}, "mixes event sources"),
    # the reason quotes the event: its log line is bounded all the same (asserted below)
    ("a megabyte of eventSource", {"Records": [{**sqs("{}"), "eventSource": "x" * 1_000_000}]},
     "unsupported eventSource"),
]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[FaultEndpoint]:
    # The service's own limit matches the setting: a request at or over 262144 bytes is refused.
    with FaultEndpoint(max_entries_bytes=LIMIT - 1) as ep:
        yield ep


@pytest.fixture(scope="module")
def warm_handler(endpoint):
    """One cold start for the whole matrix, as one warm execution environment would serve it."""
    from forwarder import handler

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint.url)  # read by botocore when the client is made
        return handler.entry_point(handler.cold_start({**os.environ, "PUT_EVENTS_MAX_BYTES": str(LIMIT)}))


@pytest.fixture
def forwarder(warm_handler, endpoint):
    endpoint.reset()
    return warm_handler


def item_id(record: dict) -> str:
    if "dynamodb" in record:
        return record["dynamodb"]["SequenceNumber"]
    return record.get("messageId") or record["kinesis"]["sequenceNumber"]


def summary_of(caplog) -> dict:
    (summary,) = [line for line in log_lines(caplog) if line.get("message") == "batch done"]
    return summary


def assert_counts_add_up(summary: dict, accepted: int) -> None:
    assert summary["forwarded"] + summary["failed"] + summary["quarantined"] == summary["received"]
    assert summary["forwarded"] == accepted
    assert sum(summary["failures_by_code"].values()) == summary["failed"] + summary["quarantined"]


@pytest.mark.parametrize(("record", "expected"), [c[1:] for c in RECORD_CASES], ids=[c[0] for c in RECORD_CASES])
def test_each_hostile_record_is_forwarded_or_reported(forwarder, endpoint, context, caplog, record, expected):
    response = forwarder({"Records": [record]}, context)  # never raises for one bad record
    accepted = endpoint.accepted()
    summary = summary_of(caplog)
    assert_counts_add_up(summary, len(accepted))
    if isinstance(expected, Reported):
        assert response == {"batchItemFailures": [{"itemIdentifier": item_id(record)}]}
        assert accepted == []
        (warning,) = [line for line in log_lines(caplog) if line["level"] == "WARNING"]
        assert (warning["item_id"], warning["error_code"]) == (item_id(record), expected.code)
        assert warning["error_message"]
        return
    assert response == {"batchItemFailures": []}
    (entry,) = accepted
    if isinstance(expected, Raw):
        assert entry["Detail"] == expected.text
    elif expected.value is None:  # any Detail the endpoint accepted
        assert json.loads(entry["Detail"])
    else:
        assert json.loads(entry["Detail"]) == expected.value
    assert ("Time" in entry) == (item_id(record) not in {item_id(c[1]) for c in RECORD_CASES if c[0] in NO_TIME})


@pytest.mark.parametrize("source", ["aws:sqs", "aws:kinesis", "aws:dynamodb"])
def test_a_batch_of_every_hostile_record_is_counted_once(forwarder, endpoint, context, caplog, source):
    cases = [c for c in RECORD_CASES if c[1].get("eventSource") == source]
    response = forwarder({"Records": [c[1] for c in cases]}, context)
    reported = [item_id(c[1]) for c in cases if isinstance(c[2], Reported)]
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == reported
    summary = summary_of(caplog)
    assert summary["received"] == len(cases)
    assert summary["forwarded"] == len(cases) - len(reported) == len(endpoint.accepted())
    assert_counts_add_up(summary, len(endpoint.accepted()))


@pytest.mark.parametrize(("event", "reason"), [c[1:] for c in EVENT_CASES], ids=[c[0] for c in EVENT_CASES])
def test_an_unreadable_event_raises_so_lambda_retries_it_whole(forwarder, endpoint, context, caplog, event, reason):
    with pytest.raises(EventError, match=reason):
        forwarder(event, context)
    (error,) = [line for line in log_lines(caplog) if line["level"] == "ERROR"]
    assert reason in error["reason"] and len(error["reason"]) < 1100
    assert endpoint.stats()["requests"] == 0


# -- a Source or DetailType expression that fails on one body -------------------------------------


@pytest.mark.parametrize("variable", ["EVENT_DETAIL_TYPE_PATH", "EVENT_SOURCE_PATH"])
def test_an_expression_that_fails_on_a_body_falls_back_for_that_record_alone(
    endpoint, cold_start, context, caplog, variable
):
    # GIVEN an override calling a JMESPath function, and bodies it cannot be applied to
    endpoint.reset()
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, **{variable: "body | join('.', type)"})
    bodies = ['{"type": ["Order", "Placed"]}', '{"type": 5}', '{"type": [1, 2]}', '{"type": {"a": "b"}}', '{"n": 1}']
    event = {"Records": [sqs(body) for body in bodies]}
    # WHEN the batch arrives THEN every record is forwarded; the one the expression fits gets its value
    assert handler(event, context) == {"batchItemFailures": []}
    field, configured = ("DetailType", "TestEvent") if "DETAIL" in variable else ("Source", "test.forwarder")
    assert [entry[field] for entry in endpoint.accepted()] == ["Order.Placed"] + [configured] * 4
    logged = [json.dumps(line) for line in log_lines(caplog) if line["level"] != "DEBUG"]
    assert not [line for line in logged if '"type"' in line]  # no body content
