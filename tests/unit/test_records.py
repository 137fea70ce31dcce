"""Lambda events -> SourceRecords, and clear errors for events that are not a batch we read."""

from __future__ import annotations

import base64
import copy

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from forwarder.config.settings import Settings
from forwarder.records.event import parse_event
from forwarder.records.record import EventError
from forwarder_testing.events import fifo_event, kinesis_event, kinesis_record, sqs_event, sqs_record


def test_sqs_record_fields():
    event = sqs_event(['{"a": 1}'], trace="Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    source, (record,) = parse_event(event)
    raw = event["Records"][0]
    assert source == "aws:sqs"
    assert record.item_id == raw["messageId"]
    assert record.body == '{"a": 1}'
    assert record.time == int(raw["attributes"]["SentTimestamp"]) / 1000
    assert record.trace_header.startswith("Root=1-5759e988")
    assert record.group is None
    assert record.raw is raw


@pytest.mark.parametrize("attributes", ["missing", None, "text"])
def test_an_sqs_record_without_attributes_is_still_read(attributes):
    raw = sqs_record('{"a": 1}', trace="Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    if attributes == "missing":
        del raw["attributes"]
    else:
        raw["attributes"] = attributes
    _, (record,) = parse_event({"Records": [raw]})
    assert (record.item_id, record.body, record.time, record.trace_header) == (raw["messageId"], '{"a": 1}', None, None)
    assert record.raw is raw  # quarantined exactly as received


def test_fifo_records_carry_their_group():
    _, records = parse_event(fifo_event([("g1", "{}"), ("g2", "{}")]))
    assert [r.group for r in records] == ["g1", "g2"]


def test_a_group_id_on_a_standard_queue_does_not_order():
    # Fair queues put MessageGroupId on standard queues; they promise no order, so none is imposed.
    _, (record,) = parse_event({"Records": [sqs_record("{}", group="tenant-1")]})
    assert record.group is None


def test_kinesis_records():
    source, records = parse_event(kinesis_event([b'{"a": 1}', b"\x80\x81"]))
    assert source == "aws:kinesis"
    assert records[0].body == '{"a": 1}'
    assert records[0].time == pytest.approx(1763800000.123)
    assert records[1].body == b"\x80\x81"
    assert records[0].item_id.isdigit() and records[0].item_id != records[1].item_id


def test_kinesis_data_that_is_not_base64_is_a_record_problem():
    raw = kinesis_record(b"x")
    raw["kinesis"]["data"] = "not base64!"
    _, (record,) = parse_event({"Records": [raw]})
    assert record.problem == "kinesis data is not valid base64"


def test_empty_batch():
    assert parse_event({"Records": []}) == ("", [])


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "no 'Records' list"),
        ([], "no 'Records' list"),
        ({"records": []}, "no 'Records' list"),
        ({"Records": "x"}, "no 'Records' list"),
        ({"Records": [{"eventSource": "aws:s3"}]}, "unsupported eventSource 'aws:s3'"),
        ({"Records": ["text"]}, "unsupported eventSource None"),
        (
            {"Records": [sqs_record("{}"), kinesis_record(b"{}")]},
            r"mixes event sources \['aws:kinesis', 'aws:sqs'\]",
        ),
        ({"Records": [{**sqs_record("{}"), "messageId": ""}]}, "record 0 has no messageId"),
        ({"Records": [{"eventSource": "aws:kinesis"}]}, "record 0 has no 'kinesis' object"),
    ],
)
def test_events_that_are_not_a_batch_say_why(event, message):
    with pytest.raises(EventError, match=message):
        parse_event(event)


def test_kinesis_without_sequence_number():
    raw = kinesis_record(base64.b64decode("e30="))
    del raw["kinesis"]["sequenceNumber"]
    with pytest.raises(EventError, match="record 0 has no sequenceNumber"):
        parse_event({"Records": [raw]})


# -- any field, any value: a record fails alone; only a batch-level problem raises -----------------

IDENTIFIERS = {"aws:sqs": ("messageId",), "aws:kinesis": ("kinesis", "sequenceNumber")}
IDENTIFIERS["aws:dynamodb"] = ("dynamodb", "SequenceNumber")


def _valid_records() -> list[dict]:
    from tests.conftest import load_event

    records = [
        sqs_record('{"type": "a", "n": 1}', trace="Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"),
        sqs_record("{}", queue="q.fifo", group="g"),
        kinesis_record(b'{"k": [1, 2]}'),
    ]
    for name in ("sns-via-sqs.json", "kinesis-kpl.json", "dynamodb.json"):
        records += load_event(name)["Records"]
    return records


VALID_RECORDS = _valid_records()
HUGE_INTS = st.integers() | st.sampled_from([10**400, -(10**400), 2**63, 2**64])
ANY_JSON = st.recursive(
    st.none() | st.booleans() | HUGE_INTS | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _paths(value, prefix=()):
    """Every place in a record that holds a value, at any depth."""
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from _paths(child, (*prefix, key))


def _replaced(record: dict, path: tuple, value) -> dict:
    record = copy.deepcopy(record)
    if not path:
        return value
    parent = record
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return record


def _nameable(record, source: str) -> bool:
    """What parse_event needs to name the record in a partial batch response."""
    if not isinstance(record, dict) or record.get("eventSource") != source:
        return False
    container = record
    for key in IDENTIFIERS[source][:-1]:
        container = container.get(key)
        if not isinstance(container, dict):
            return False
    identifier = container.get(IDENTIFIERS[source][-1])
    return isinstance(identifier, str) and bool(identifier)


@st.composite
def mutated_records(draw) -> tuple[dict, dict]:
    original = draw(st.sampled_from(VALID_RECORDS))
    path = draw(st.sampled_from(list(_paths(original))))
    return original, _replaced(original, path, draw(ANY_JSON))


SETTINGS_VARIANTS = [
    Settings.from_env(
        {"EVENT_SOURCE": "s", "EVENT_DETAIL_TYPE": "t", "EVENT_DETAIL_TYPE_PATH": "body | join('.', type)"}
    ),
    Settings.from_env(
        {
            "EVENT_SOURCE": "s",
            "EVENT_DETAIL_TYPE": "t",
            "EVENT_BUS_NAME": "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy",
        }
    ),
]


@hypothesis_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_records())
def test_a_record_with_any_field_replaced_fails_alone(case):
    from forwarder.core.items import Entry, Rejected
    from tests.unit.test_entries import build

    original, mutated = case
    source = original["eventSource"]
    healthy = copy.deepcopy(original)
    try:
        _, records = parse_event({"Records": [mutated, healthy]})
    except EventError:
        # GIVEN a record that can no longer be named, THEN (and only then) the batch is refused whole
        assert not _nameable(mutated, source)
        return
    assert _nameable(mutated, source)
    for settings in SETTINGS_VARIANTS:
        entries = [build(record, settings, None) for record in records]  # never raises
        assert all(isinstance(entry, Entry | Rejected) for entry in entries)
        assert isinstance(entries[-1], Entry)  # the healthy neighbour is forwarded


@pytest.mark.parametrize("name", ["sns-via-sqs.json", "kinesis-kpl.json", "dynamodb.json"])
def test_records_not_reached_by_the_deadline_are_named_and_unread(name):
    from tests.conftest import load_event

    event = load_event(name)
    source, read = parse_event(event)
    # GIVEN a deadline that has passed WHEN the batch is read THEN every record is named, none read
    late_source, late = parse_event(event, deadline=0.0)
    assert late_source == source
    assert [record.raw for record in late] == event["Records"]
    assert all(record.unread and record.body is None for record in late)
    # each by the id it is reported by (one per Lambda record, also for a KPL aggregate)
    assert [record.item_id for record in late] == list(dict.fromkeys(record.item_id for record in read))


def test_an_unread_record_without_an_id_still_refuses_the_batch():
    event = sqs_event(["a", "b"])
    del event["Records"][1]["messageId"]
    with pytest.raises(EventError, match="record 1 has no messageId"):
        parse_event(event, deadline=0.0)


def _powertools_sqs_record(raw: dict, index: int):
    """The SQS reader as it was, through Powertools' SQSRecord wrapper: the reference the lean reader must match."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from forwarder.core.trace_header import usable
    from forwarder.records.record import SourceRecord, epoch_millis, text
    from forwarder.records.sqs import sqs_item_id
    from forwarder.records.trace_context import from_sqs_attributes

    item_id = sqs_item_id(raw, index)
    record = SQSRecord(raw if isinstance(raw.get("attributes"), dict) else {**raw, "attributes": {}})
    attributes = record.attributes
    body = raw.get("body")
    is_fifo = str(raw.get("eventSourceARN", "")).endswith(".fifo")
    return SourceRecord(
        item_id=item_id,
        body=body if isinstance(body, str) else None,
        time=epoch_millis(attributes.get("SentTimestamp")),
        trace_header=usable(attributes.aws_trace_header) or from_sqs_attributes(raw.get("messageAttributes")),
        group=text(attributes.message_group_id) if is_fifo else None,
        raw=raw,
    )


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_SQS_ATTRIBUTE_VALUES = st.one_of(
    _JSON, st.sampled_from(["1763800000000", "0", "-5", "1e13", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
                            "g1", "", "nan"]),
)


@st.composite
def sqs_raw_records(draw):
    raw = copy.deepcopy(sqs_record("{}", message_id="m-1"))
    raw["eventSourceARN"] = draw(st.sampled_from(["arn:aws:sqs:us-east-1:1:q", "arn:aws:sqs:us-east-1:1:q.fifo"]))
    attributes = draw(st.one_of(
        st.dictionaries(st.sampled_from(["SentTimestamp", "AWSTraceHeader", "MessageGroupId", "other"]),
                        _SQS_ATTRIBUTE_VALUES, max_size=4),
        _JSON,
    ))
    if draw(st.booleans()):
        raw["attributes"] = attributes
    else:
        raw.pop("attributes", None)
    raw["body"] = draw(st.one_of(st.text(max_size=10), _JSON))
    if draw(st.booleans()):
        raw["messageAttributes"] = draw(_JSON)
    return raw


@hypothesis_settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sqs_raw_records())
def test_the_lean_sqs_reader_reads_every_record_as_the_powertools_wrapper_did(raw):
    from forwarder.records.sqs import sqs_records

    # GIVEN any SQS record (any attributes, of any JSON type, or none) WHEN both readers read it
    # THEN they return the same record, field for field
    assert sqs_records(raw, 0) == [_powertools_sqs_record(raw, 0)]
