"""SourceRecord -> PutEvents entry: Detail wrapping, sizes by AWS's formula, overrides, trace headers."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

import botocore.session
import pytest
from botocore.serialize import create_serializer
from botocore.validate import ParamValidator
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from forwarder.config.settings import Settings
from forwarder.core.items import Entry, Rejected
from forwarder.entries.json_entries import build_entry, event_time, to_detail
from forwarder.entries.shaping import Shaping
from forwarder.net.wire import request_body
from forwarder.publish.retry_policy import RetryPolicy
from forwarder.records.event import parse_event
from forwarder.records.record import SourceRecord
from forwarder.targets.buses import deduplication_id, entry_size, target_for
from forwarder.targets.limits import entry_rules
from forwarder.targets.target import Target

SETTINGS = Settings.from_env({"EVENT_SOURCE": "my.app", "EVENT_DETAIL_TYPE": "Thing", "EVENT_BUS_NAME": "bus"})


@functools.cache
def _target(bus: str, event_groups: bool) -> Target:
    return target_for(Settings.from_env({"EVENT_SOURCE": "s", "EVENT_DETAIL_TYPE": "t", "EVENT_BUS_NAME": bus,
                                         "EVENT_GROUPS": str(event_groups)}))


def target_of(settings: Settings) -> Target:
    """The target `settings` choose, made once per kind (each holds a client)."""
    return _target(settings.event_bus_name, settings.event_groups)


def build(record: SourceRecord, settings: Settings, fallback_trace: str | None) -> Entry | Rejected:
    """As the forwarder builds an entry: with a shaper when the settings hold an expression."""
    shaping = Shaping.from_settings(settings)
    shaper = None if shaping is None else shaping.for_batch()
    return build_entry(record, settings, target_of(settings), fallback_trace, shaper)


def record(body, **kwargs) -> SourceRecord:
    return SourceRecord(item_id="id-1", body=body, **kwargs)


def test_an_object_body_is_passed_on_as_it_came():
    body = '{"b": 1,  "a": [1, 2]}'  # spacing and key order kept: no parse-and-dump round trip
    assert to_detail(body) == body


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("[1, 2]", {"data": [1, 2]}),
        ("42", {"data": 42}),
        ('"text"', {"data": "text"}),
        ("null", {"data": None}),
        ("true", {"data": True}),
        ("plain text", {"data": "plain text"}),
        ("", {"data": ""}),
        ("   ", {"data": "   "}),
        ("<a>xml</a>", {"data": "<a>xml</a>"}),
        ('{"a": 1', {"data": '{"a": 1'}),
        ('{"n": NaN}', {"data": '{"n": NaN}'}),
        ('{"n": Infinity}', {"data": '{"n": Infinity}'}),
        ('{"n": 1e400}', {"data": '{"n": 1e400}'}),
        ('{"n": 9223372036854775808}', {"data": '{"n": 9223372036854775808}'}),
        ('{"s": "a\x01b"}', {"data": '{"s": "a\x01b"}'}),
        (None, {"data": None}),
    ],
)
def test_any_other_body_is_wrapped(body, detail):
    assert json.loads(to_detail(body)) == detail


def test_int64_bounds_are_accepted():
    body = '{"min": -9223372036854775808, "max": 9223372036854775807}'
    assert to_detail(body) == body


def test_bom_is_dropped_from_an_object_body():
    assert to_detail('\ufeff{"a": 1}') == '{"a": 1}'


def test_duplicate_keys_pass_through_untouched():
    body = '{"a": 1, "a": 2}'
    assert to_detail(body) == body


def test_binary_is_wrapped_as_base64():
    assert json.loads(to_detail(b"\xff\x00")) == {"dataBase64": "/wA="}


def test_nesting_at_the_limit_passes_and_over_it_is_wrapped_as_text():
    at_limit = "[" * 999 + "]" * 999  # wrapped in {"data": ...}: 1000 levels
    assert json.loads(to_detail(at_limit))["data"] is not None
    assert isinstance(json.loads(to_detail("{}")), dict)
    object_at_limit = '{"a":' * 999 + "{}" + "}" * 999
    assert to_detail(object_at_limit) == object_at_limit
    too_deep = '{"a":' * 1000 + "{}" + "}" * 1000
    assert json.loads(to_detail(too_deep)) == {"data": too_deep}
    deep_array = "[" * 1500 + "]" * 1500
    assert json.loads(to_detail(deep_array)) == {"data": deep_array}


def test_lone_surrogates_are_kept_and_sized():
    body = "bad \ud800 text"
    entry = build(record(body), SETTINGS, None)
    assert "\ud800" in entry.fields["Detail"]
    assert entry.size == entry_size(entry.fields) > len("my.app") + len("Thing")


def test_entry_fields():
    entry = build(record('{"a": 1}', time=1700000000.5, trace_header="Root=1-a-b"), SETTINGS, "Root=1-own")
    assert isinstance(entry, Entry)
    assert entry.fields == {
        "Source": "my.app",
        "DetailType": "Thing",
        "Detail": '{"a": 1}',
        "EventBusName": "bus",
        # epoch seconds on the wire path (targets.ClassicBus), as botocore sends the datetime other paths keep
        "Time": datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC).timestamp(),
        "TraceHeader": "Root=1-a-b",
    }
    assert entry.size == 14 + len("my.app") + len("Thing") + len('{"a": 1}')


def test_trace_falls_back_to_the_invocations_header_and_drops_one_too_long():
    assert build(record("{}"), SETTINGS, "Root=1-own").fields["TraceHeader"] == "Root=1-own"
    assert "TraceHeader" not in build(record("{}"), SETTINGS, None).fields
    assert "TraceHeader" not in build(record("{}", trace_header="x" * 501), SETTINGS, None).fields


def test_size_counts_utf8_bytes_and_resources():
    fields = {"Source": "s", "DetailType": "é", "Detail": '{"k":"€"}', "Resources": ["arn:x"], "TraceHeader": "t"}
    assert entry_size(fields) == 1 + 2 + len('{"k":"€"}'.encode()) + 5


def test_paths_override_source_and_detail_type_when_they_yield_a_string():
    settings = Settings.from_env(
        {"EVENT_SOURCE": "s", "EVENT_DETAIL_TYPE": "T", "EVENT_DETAIL_TYPE_PATH": "body.type",
         "EVENT_SOURCE_PATH": "body.src"}
    )
    found = build(record('{"type": "OrderPlaced", "src": "shop"}'), settings, None).fields
    assert (found["Source"], found["DetailType"]) == ("shop", "OrderPlaced")
    for body in ['{"type": ""}', '{"type": 5}', '{"other": 1}', "[1]", "text", '{"type": "' + "x" * 129 + '"}']:
        fields = build(record(body), settings, None).fields
        assert (fields["Source"], fields["DetailType"]) == ("s", "T"), body


def test_a_record_with_a_problem_is_rejected_with_its_reason():
    rejected = build(record(None, problem="kinesis data is not valid base64", group="g"), SETTINGS, None)
    assert rejected == Rejected("InvalidRecord", "kinesis data is not valid base64", "g")


@given(st.text())
def test_every_text_body_gives_a_json_object_detail(body):
    detail = to_detail(body)
    assert isinstance(json.loads(detail), dict)


INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_json_values_survive_wrapping(value):
    detail = to_detail(json.dumps(value))
    parsed = json.loads(detail)
    assert parsed == value if isinstance(value, dict) else parsed == {"data": value}


CUSTOM_BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"


def custom_settings(**env) -> Settings:
    return Settings.from_env(
        {"EVENT_SOURCE": "my.app", "EVENT_DETAIL_TYPE": "Thing", "EVENT_BUS_NAME": CUSTOM_BUS, **env}
    )


def test_custom_bus_entries_carry_system_metadata_instead_of_bus_and_trace():
    from forwarder_testing.events import fifo_event

    _, (first, second) = parse_event(fifo_event([("g1", "{}"), ("g1", "{}")]))
    first.trace_header = "Root=1-a-b"
    entry = build(first, custom_settings(), "Root=1-own")
    assert set(entry.fields) == {"Source", "DetailType", "Detail", "Time", "SystemMetadata"}
    metadata = entry.fields["SystemMetadata"]
    assert metadata["EventGroupId"] == "g1" and entry.group == "g1"
    assert len(metadata["DeduplicationId"]) <= 128
    # stable across redeliveries, unique per record
    assert build(first, custom_settings(), None).fields["SystemMetadata"] == metadata
    assert (
        build(second, custom_settings(), None).fields["SystemMetadata"]["DeduplicationId"]
        != (metadata["DeduplicationId"])
    )


def test_custom_bus_deduplication_ids_tell_queues_and_sub_sequences_apart():
    base = SourceRecord(item_id="m-1", body="{}", raw={"eventSourceARN": "arn:aws:sqs:us-east-1:1:a"})
    other_queue = SourceRecord(item_id="m-1", body="{}", raw={"eventSourceARN": "arn:aws:sqs:us-east-1:1:b"})
    sub_0 = SourceRecord(item_id="m-1", body="{}", raw=base.raw, sub_sequence=0)
    sub_1 = SourceRecord(item_id="m-1", body="{}", raw=base.raw, sub_sequence=1)
    ids = {deduplication_id(r) for r in (base, other_queue, sub_0, sub_1)}
    assert len(ids) == 4


def test_kinesis_partition_keys_are_event_groups_unless_turned_off():
    record = SourceRecord(item_id="1", body="{}", raw={}, partition_key="k" * 200)
    entry = build(record, custom_settings(), None)
    assert len(entry.fields["SystemMetadata"]["EventGroupId"]) == 64  # hashed: over the API's 128
    assert entry.group == "k" * 200
    off = build(record, custom_settings(EVENT_GROUPS="false"), None)
    assert "EventGroupId" not in off.fields["SystemMetadata"] and off.group is None


def test_classic_entries_have_no_system_metadata():
    entry = build(record("{}", partition_key="k"), SETTINGS, None)
    assert "SystemMetadata" not in entry.fields and entry.group is None


PUT_EVENTS = botocore.session.get_session().get_service_model("events").operation_model("PutEvents")


def _wire_time(value) -> float:
    entry = {"Source": "s", "DetailType": "t", "Detail": "{}", "Time": value}
    request = create_serializer("json").serialize_to_request({"Entries": [entry]}, PUT_EVENTS)
    return json.loads(request["body"])["Entries"][0]["Time"]


@hypothesis_settings(deadline=None)  # botocore's serializer: slow on a busy machine
@given(st.integers(min_value=1, max_value=4_102_444_800_000))  # SentTimestamp-like milliseconds, up to 2100
def test_time_goes_on_the_wire_as_the_same_epoch_seconds_it_came_as(millis):
    # GIVEN a record time in epoch seconds, WHEN the entry holds it as a datetime, THEN botocore sends the same
    assert _wire_time(event_time(millis / 1000)) == _wire_time(millis / 1000)


def test_a_time_past_year_9999_is_left_to_eventbridge():
    # botocore cannot send it; EventBridge stamps its own time instead
    assert event_time(9e12) is None
    assert "Time" not in build(record("{}", time=9e12), SETTINGS, None).fields


_ANY_TEXT = st.one_of(st.none(), st.text(max_size=600), st.binary(max_size=50).map(lambda b: b.decode("latin-1")))


@hypothesis_settings(deadline=None)
@given(
    body=st.one_of(st.none(), st.binary(max_size=200), st.text(max_size=300)),
    trace=_ANY_TEXT,
    fallback=_ANY_TEXT,
    time=st.one_of(st.none(), st.floats(min_value=1e-3, max_value=9.9e12)),
    resources=st.lists(st.text(max_size=100), max_size=3).map(tuple),
    source_path=st.sampled_from(["", "body.source", "body.a.b"]),
)
def test_every_entry_passes_botocores_own_validation_and_goes_on_the_wire_as_botocore_sends_it(
    body, trace, fallback, time, resources, source_path
):
    # The handler skips botocore's parameter validation and serializer (forwarder.net.wire): what the validator
    # checks must hold by construction, and the body must say exactly what botocore's would.
    settings = Settings.from_env(
        {"EVENT_SOURCE": "my.app", "EVENT_DETAIL_TYPE": "Thing", "EVENT_SOURCE_PATH": source_path}
    )
    source = SourceRecord("id", body, time=time, trace_header=trace, resources=resources)
    entry = build(source, settings, fallback)
    report = ParamValidator().validate({"Entries": [entry.fields]}, PUT_EVENTS.input_shape)
    assert not report.has_errors(), report.generate_report()
    params = {"Entries": [entry.fields, entry.fields]}
    botocore_body = create_serializer("json").serialize_to_request(params, PUT_EVENTS)["body"]
    assert json.loads(request_body(params["Entries"])) == json.loads(botocore_body)


# -- a Source or DetailType override that fails on a body falls back for that record ---------------

FUNCTION_PATHS = [
    "join('.', type)",
    "to_number(type)",
    "length(type)",
    "starts_with(type, 'Order')",
    "sort(type)",
    "max(type)",
    "sum(items)",
    "keys(type)",
    "reverse(type)",
    "abs(type)",
    "sort_by(items, &n).name",
    "max_by(items, &n).name",
    "join(',', keys(@))",
    "to_string(@)",
    "merge(@, type).type",
    "map(&to_string(@), items)",
    "not_null(missing, type)",
    "type(type)",
    "@ == type",
]
BODY_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
BODIES = st.dictionaries(st.sampled_from(["type", "items", "n", "name", "x"]) | st.text(max_size=6), BODY_VALUES)


@hypothesis_settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(FUNCTION_PATHS), which=st.sampled_from(["EVENT_DETAIL_TYPE_PATH", "EVENT_SOURCE_PATH"]),
       body=BODIES)
def test_an_override_expression_never_fails_a_record(path, which, body):
    # GIVEN an expression calling JMESPath functions and any JSON object body
    settings = Settings.from_env({"EVENT_SOURCE": "my.app", "EVENT_DETAIL_TYPE": "Thing", which: f"body | {path}"})
    # WHEN the entry is built THEN it never raises, and Source and DetailType are values the API takes
    entry = build(record(json.dumps(body)), settings, None)
    assert isinstance(entry, Entry)
    assert all(isinstance(entry.fields[k], str) and entry.fields[k].strip() for k in ("Source", "DetailType"))
    assert len(entry.fields["DetailType"]) <= 128
    report = ParamValidator().validate({"Entries": [entry.fields]}, PUT_EVENTS.input_shape)
    assert not report.has_errors(), report.generate_report()



# -- every limit the service model states, checked before sending ----------------------------------


@pytest.mark.parametrize("settings", [SETTINGS, custom_settings()], ids=["classic", "custom bus"])
def test_a_resource_over_the_models_limit_fails_its_record_alone(settings):
    # GIVEN a record whose resource the service would refuse its whole request for (over 2048 characters)
    source = record('{"a": 1}', resources=("arn:aws:sns:us-east-1:123456789012:" + "t" * 3000,), group="g")
    # THEN it never becomes an entry: InvalidArgument, which the quarantine takes as poison
    rejected = build(source, settings, None)
    assert rejected == Rejected("InvalidArgument", "Resources[0] is longer than 2048 characters", "g")
    assert rejected.code in RetryPolicy.poison_codes


@hypothesis_settings(deadline=None)
@given(
    resources=st.lists(st.text(max_size=3000), max_size=2).map(tuple),
    trace=st.one_of(st.none(), st.text(max_size=600)),
    detail_type=st.text(max_size=300),
    source=st.text(max_size=300),
)
def test_an_entry_is_within_every_limit_of_its_model_or_rejected(resources, trace, detail_type, source):
    body = json.dumps({"type": detail_type, "source": source})
    for settings, rules in [
        (SETTINGS, entry_rules("events")),
        (custom_settings(), entry_rules("eventbridgev2")),
    ]:
        env = {"EVENT_DETAIL_TYPE_PATH": "body.type", "EVENT_SOURCE_PATH": "body.source"}
        settings = Settings.from_env(
            {"EVENT_SOURCE": "s", "EVENT_DETAIL_TYPE": "t", "EVENT_BUS_NAME": settings.event_bus_name, **env}
        )
        entry = build(SourceRecord("id", body, resources=resources, trace_header=trace, time=1.0), settings, None)
        if isinstance(entry, Rejected):
            assert entry.code == "InvalidArgument" and any(len(r) > 2048 for r in resources)
        else:
            assert rules.problem(entry.fields) is None


def test_records_not_read_or_not_prepared_by_the_deadline_are_refused_as_deadline_exceeded():
    from forwarder.entries.json_entries import build_entries

    unread = SourceRecord(item_id="id-0", body=None, unread=True, group="g")
    not_read = Rejected("DeadlineExceeded", "not read before the invocation's deadline", "g")
    assert build(unread, SETTINGS, None) == not_read
    records = [record('{"n": 1}'), record('{"n": 2}', group="g")]
    target = target_of(SETTINGS)
    assert build_entries(records, SETTINGS, target, None, deadline=0.0) == [
        Rejected("DeadlineExceeded", "not prepared before the invocation's deadline", None),
        Rejected("DeadlineExceeded", "not prepared before the invocation's deadline", "g"),
    ]
    assert all(isinstance(item, Entry) for item in build_entries(records, SETTINGS, target, None))
