"""traceparent -> X-Ray trace header: the exact form OpenTelemetry's X-Ray propagator writes, or nothing."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from forwarder.records.event import parse_event
from forwarder.records.trace_context import xray_header
from forwarder_testing.events import sqs_record

TRACE_ID = "5759e988bd862e3fe1be46a994272793"
SPAN_ID = "53995c3f42cd8ad8"
VALID = f"00-{TRACE_ID}-{SPAN_ID}-01"
XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
AWS_TRACE = "Root=1-11111111-222222222222222222222222;Parent=3333333333333333;Sampled=0"

HEX = "0123456789abcdef"


def w3c_oracle(value: str) -> str | None:
    """The W3C Trace Context rules, written out field by field (not by a regular expression)."""
    parts = value.split("-")
    if len(parts) < 4 or len(value) < 55:
        return None
    version, trace_id, parent_id, flags = parts[:4]
    fields_ok = [len(version) == 2, len(trace_id) == 32, len(parent_id) == 16, len(flags) == 2]
    if not all(fields_ok) or not all(char in HEX for char in version + trace_id + parent_id + flags):
        return None
    if version == "ff" or set(trace_id) == {"0"} or set(parent_id) == {"0"}:
        return None
    if version == "00" and len(parts) != 4:  # version 00 has exactly four fields
        return None
    sampled = "1" if int(flags, 16) & 1 else "0"
    return f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={parent_id};Sampled={sampled}"


def test_a_valid_traceparent_is_the_same_trace_in_xray_form():
    assert xray_header(VALID) == XRAY
    assert xray_header(f"00-{TRACE_ID}-{SPAN_ID}-00") == XRAY.replace("Sampled=1", "Sampled=0")
    assert xray_header(f"00-{TRACE_ID}-{SPAN_ID}-03") == XRAY  # only the sampled bit is carried


def test_a_later_version_is_read_by_its_first_four_fields():
    assert xray_header(f"01-{TRACE_ID}-{SPAN_ID}-01-what-comes-later") == XRAY
    assert xray_header(f"cc-{TRACE_ID}-{SPAN_ID}-01") == XRAY


@pytest.mark.parametrize(
    "traceparent",
    [
        f"ff-{TRACE_ID}-{SPAN_ID}-01",  # version ff is invalid
        f"00-{'0' * 32}-{SPAN_ID}-01",  # all-zero trace id
        f"00-{TRACE_ID}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE_ID.upper()}-{SPAN_ID}-01",  # uppercase hex
        f"00-{TRACE_ID}-{SPAN_ID.upper()}-01",
        f"00-{TRACE_ID}-{SPAN_ID}-0A",
        f"00-{TRACE_ID[:-1]}-{SPAN_ID}-01",  # wrong lengths
        f"00-{TRACE_ID}0-{SPAN_ID}-01",
        f"00-{TRACE_ID}-{SPAN_ID}-1",
        f"0-{TRACE_ID}-{SPAN_ID}-01",
        f"00-{TRACE_ID}-{SPAN_ID}-01-extra",  # version 00 takes no more fields
        f"01-{TRACE_ID}-{SPAN_ID}-01extra",  # a later version's extra fields start with a dash
        f" {VALID}",
        f"{VALID}\n",
        f"00_{TRACE_ID}_{SPAN_ID}_01",
        "",
        None,
        55,
    ],
)
def test_an_invalid_traceparent_is_ignored(traceparent):
    assert xray_header(traceparent) is None


def hex_text(size: int, alphabet: str = HEX) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size, max_size=size)


def hex_number(digits: int, low: int = 0) -> st.SearchStrategy[str]:
    """Lowercase hex of exactly `digits` digits, at least `low` (so that shrinking keeps it valid)."""
    return st.integers(low, 16**digits - 1).map(lambda n: f"{n:0{digits}x}")


# Each field valid about half the time, else broken in one of the ways W3C forbids.
near_valid = st.builds(
    lambda version, trace_id, parent_id, flags, rest: f"{version}-{trace_id}-{parent_id}-{flags}{rest}",
    st.one_of(st.just("00"), hex_number(2).filter(lambda v: v != "ff"), st.sampled_from(["ff", "0", "000", "0A"])),
    st.one_of(hex_number(32, 1), hex_number(32, 1), st.just("0" * 32), hex_text(31), hex_text(33),
              hex_text(32, "ABCDEF")),
    st.one_of(hex_number(16, 1), hex_number(16, 1), st.just("0" * 16), hex_text(15), hex_text(17)),
    st.one_of(hex_number(2), hex_number(2), st.sampled_from(["0A", "1", "001"])),
    st.one_of(st.just(""), st.just(""), st.sampled_from(["-", "-x", "x", "-a-b", " "]), st.text(max_size=5)),
)


@given(st.one_of(near_valid, near_valid, st.text(string.printable, max_size=80), st.text(max_size=80)))
@example(VALID)
@example(f"fe-{TRACE_ID}-{SPAN_ID}-ff-")
def test_any_traceparent_becomes_the_exact_xray_form_or_nothing(traceparent):
    assert xray_header(traceparent) == w3c_oracle(traceparent)


@given(hex_number(2).filter(lambda v: v != "ff"), hex_number(32, 1), hex_number(16, 1), hex_number(2))
def test_every_valid_traceparent_is_the_same_trace_in_xray_form(version, trace_id, parent_id, flags):
    traceparent = f"{version}-{trace_id}-{parent_id}-{flags}"
    sampled = int(flags, 16) & 1
    assert xray_header(traceparent) == f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={parent_id};Sampled={sampled}"


def sqs_with_attribute(value: str, aws_trace: str | None = None) -> dict:
    record = sqs_record('{"a": 1}', trace=aws_trace)
    record["messageAttributes"] = {"traceparent": {"stringValue": value, "dataType": "String",
                                                    "stringListValues": [], "binaryListValues": []}}
    return record


def sns_envelope(traceparent: str) -> str:
    return json.dumps({
        "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
        "Message": '{"a": 1}', "Timestamp": "2025-11-22T10:00:00.000Z",
        "MessageAttributes": {"traceparent": {"Type": "String", "Value": traceparent}},
    })


def test_an_sqs_message_attribute_traceparent_is_the_records_trace():
    _, (record,) = parse_event({"Records": [sqs_with_attribute(VALID)]})
    assert record.trace_header == XRAY


def test_aws_trace_header_comes_before_traceparent():
    _, (record,) = parse_event({"Records": [sqs_with_attribute(VALID, aws_trace=AWS_TRACE)]})
    assert record.trace_header == AWS_TRACE


def test_an_invalid_attribute_leaves_the_record_without_a_trace():
    _, (record,) = parse_event({"Records": [sqs_with_attribute(VALID.replace("00-", "ff-", 1))]})
    assert record.trace_header is None


@pytest.mark.parametrize("attributes", [{"traceparent": VALID}, {"traceparent": {"binaryValue": "AA=="}}, [], "x"])
def test_a_malformed_attribute_is_ignored(attributes):
    raw = sqs_record('{"a": 1}')
    raw["messageAttributes"] = attributes
    _, (record,) = parse_event({"Records": [raw]})
    assert record.trace_header is None


def test_sns_through_sqs_takes_the_envelopes_traceparent():
    _, (record,) = parse_event({"Records": [sqs_record(sns_envelope(VALID))]})
    assert (record.body, record.trace_header) == ('{"a": 1}', XRAY)


def test_sns_through_sqs_keeps_aws_trace_header_first():
    _, (record,) = parse_event({"Records": [sqs_record(sns_envelope(VALID), trace=AWS_TRACE)]})
    assert record.trace_header == AWS_TRACE


def test_an_envelope_is_read_only_when_unwrapped():
    _, (record,) = parse_event({"Records": [sqs_record(sns_envelope(VALID))]}, sns_unwrap=False)
    assert record.trace_header is None


def test_the_trace_header_limit_is_botocores():
    from forwarder.core.trace_header import MAX_TRACE_HEADER_CHARS
    from forwarder.targets.limits import CLASSIC_RULES

    assert CLASSIC_RULES.trace_chars == MAX_TRACE_HEADER_CHARS
