"""The shaping expressions: each setting, the filter, and what becomes of a record when a result is unusable."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.validate import ParamValidator
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from forwarder.config.settings import ConfigurationError, Settings
from forwarder.core.items import Entry, Filtered, Rejected
from forwarder.entries.shaping import SHAPING_FAILED, Shaping
from forwarder.publish.retry_policy import RetryPolicy
from forwarder.records.event import parse_event
from forwarder.records.record import SourceRecord
from forwarder_testing.events import sqs_record
from tests.unit.test_entries import PUT_EVENTS, build

REQUIRED = {"EVENT_SOURCE": "my.app", "EVENT_DETAIL_TYPE": "Thing"}


def settings(**env: str) -> Settings:
    return Settings.from_env({**REQUIRED, **env})


def sqs(body: str, **attributes: str) -> SourceRecord:
    raw = sqs_record(body, queue="orders")
    raw["messageAttributes"] = {k: {"stringValue": v, "dataType": "String"} for k, v in attributes.items()}
    (record,) = parse_event({"Records": [raw]})[1]
    return record


def shaped(record: SourceRecord, **env: str) -> Entry | Rejected | Filtered:
    return build(record, settings(**env), None)


def test_no_expression_means_no_shaping():
    assert Shaping.from_settings(settings()) is None
    assert Shaping.from_settings(settings(EVENT_FILTER="body")) is not None


def test_a_source_reserved_for_aws_fails_the_cold_start():
    with pytest.raises(ConfigurationError, match="EVENT_SOURCE"):
        Settings.from_env({**REQUIRED, "EVENT_SOURCE": "aws.s3"})


@pytest.mark.parametrize("variable", ["EVENT_DETAIL", "EVENT_RESOURCES", "EVENT_TIME", "EVENT_FILTER"])
def test_a_bad_expression_fails_the_cold_start_naming_its_variable(variable):
    with pytest.raises(ConfigurationError, match=variable):
        settings(**{variable: "body.[["})


@pytest.mark.parametrize("variable", ["EVENT_DETAIL", "EVENT_SOURCE_PATH", "EVENT_FILTER"])
def test_an_expression_nested_past_the_parsers_recursion_fails_the_cold_start_naming_its_variable(variable):
    # JMESPath's parser recurses once per parenthesis: such an expression raises RecursionError, not a
    # JMESPathError, and must still be a ConfigurationError that names the variable.
    with pytest.raises(ConfigurationError, match=variable):
        settings(**{variable: "(" * 5000 + "body" + ")" * 5000})


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("to_strng(body.id)", "to_strng"),  # a typo: jmespath.compile takes any name
        ("{n: length(body, body)}", "length"),
        ("body.items[?contains(tags)]", "contains"),
        ("merge()", "merge"),  # variadic, at least one
        ("sort_by(body.a, &b, &c)", "sort_by"),
    ],
)
@pytest.mark.parametrize("variable", ["EVENT_FILTER", "EVENT_DETAIL", "EVENT_TIME"])
def test_an_unknown_function_or_a_wrong_count_of_arguments_fails_the_cold_start(variable, expression, problem):
    # Otherwise the expression would fail on every record at run time: every record a ShapingFailed poison.
    with pytest.raises(ConfigurationError, match=variable) as raised:
        settings(**{variable: expression})
    assert problem in str(raised.value)


def test_every_function_with_its_own_count_of_arguments_compiles():
    for expression in ["not_null(body.a, body.b, `1`)", "merge(body, body, body)", "join(',', body.a)",
                       "max_by(body.a, &n)", "to_string(body)", "length(@)", "{a: abs(body.n)} | keys(@)"]:
        assert settings(EVENT_DETAIL=expression).detail_path is not None


def test_detail_is_built_from_body_attributes_and_metadata():
    record = sqs('{"id": "o-1", "secret": "x"}', type="OrderPlaced")
    expression = "{orderId: body.id, queue: eventSourceARN, type: messageAttributes.type.stringValue}"
    entry = shaped(record, EVENT_DETAIL=expression)
    assert json.loads(entry.fields["Detail"]) == {
        "orderId": "o-1", "queue": "arn:aws:sqs:us-east-1:123456789012:orders", "type": "OrderPlaced"
    }


@pytest.mark.parametrize("result", ['"text"', "[1, 2]", "5", "null", "true"])
def test_a_detail_that_is_not_an_object_is_wrapped(result):
    entry = shaped(sqs(f'{{"v": {result}}}'), EVENT_DETAIL="body.v")
    assert json.loads(entry.fields["Detail"]) == {"data": json.loads(result)}


def test_detail_type_and_source_come_from_an_attribute_or_fall_back_when_empty():
    env = {"EVENT_DETAIL_TYPE_PATH": "messageAttributes.type.stringValue", "EVENT_SOURCE_PATH": "body.source"}
    entry = shaped(sqs('{"source": "shop"}', type="OrderPlaced"), **env)
    assert (entry.fields["Source"], entry.fields["DetailType"]) == ("shop", "OrderPlaced")
    entry = shaped(sqs('{"source": ""}'), **env)
    assert (entry.fields["Source"], entry.fields["DetailType"]) == ("my.app", "Thing")


def test_resources_come_from_an_expression_else_the_records_own():
    entry = shaped(sqs('{"arns": ["arn:aws:s3:::a", "arn:aws:s3:::b"]}'), EVENT_RESOURCES="body.arns")
    assert entry.fields["Resources"] == ["arn:aws:s3:::a", "arn:aws:s3:::b"]
    assert "Resources" not in shaped(sqs('{"arns": []}'), EVENT_RESOURCES="body.arns").fields


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"2026-03-01T10:00:00Z"', datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ('"2026-03-01T12:00:00+02:00"', datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("1772359200", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("1772359200.5", datetime(2026, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_time_is_an_rfc3339_string_or_epoch_seconds(value, expected):
    # as the epoch seconds the classic bus's wire path sends (targets.ClassicBus.complete)
    assert shaped(sqs(f'{{"at": {value}}}'), EVENT_TIME="body.at").fields["Time"] == expected.timestamp()


@pytest.mark.parametrize(
    ("variable", "result", "field"),
    [
        ("EVENT_DETAIL_TYPE_PATH", '"' + "x" * 129 + '"', "DetailType"),
        ("EVENT_DETAIL_TYPE_PATH", "5", "DetailType"),
        ("EVENT_SOURCE_PATH", '{"a": 1}', "Source"),
        # EventBridge keeps the aws. prefix for AWS services (NotAuthorizedForSourceException, not poison: the
        # record would come back on every delivery), and takes at most 256 characters, as EVENT_SOURCE does.
        ("EVENT_SOURCE_PATH", '"aws.s3"', "Source"),
        ("EVENT_SOURCE_PATH", '"' + "s" * 257 + '"', "Source"),
        ("EVENT_TIME", '"yesterday"', "Time"),
        ("EVENT_TIME", '"2026-03-01T10:00:00"', "Time"),  # no offset: not RFC 3339
        ("EVENT_TIME", "true", "Time"),
        ("EVENT_TIME", "-5", "Time"),
        ("EVENT_RESOURCES", '"arn:aws:s3:::a"', "Resources"),
        ("EVENT_RESOURCES", '[1, "arn"]', "Resources"),
        ("EVENT_RESOURCES", '["' + "a" * 2049 + '"]', "Resources"),
    ],
)
def test_an_unusable_result_falls_back_and_is_counted(variable, result, field):
    settings_ = settings(**{variable: "body.v"})
    shaper = Shaping.from_settings(settings_).for_batch()
    from forwarder.entries.json_entries import build_entry
    from tests.unit.test_entries import target_of

    entry = build_entry(sqs(f'{{"v": {result}}}'), settings_, target_of(settings_), None, shaper)
    plain = build(sqs(f'{{"v": {result}}}'), settings(), None)
    assert entry.fields.get(field) == plain.fields.get(field)  # the configured or the record's own value
    ((counted_variable, reason), count), *_ = shaper.fallbacks.items()
    assert (counted_variable, count) == (variable, 1) and "v" not in reason.split()


def test_a_filter_false_or_null_leaves_the_record_out():
    env = {"EVENT_FILTER": "messageAttributes.type.stringValue == 'OrderPlaced'"}
    assert isinstance(shaped(sqs("{}", type="OrderPlaced"), **env), Entry)
    assert isinstance(shaped(sqs("{}", type="Other"), **env), Filtered)
    assert isinstance(shaped(sqs("{}"), EVENT_FILTER="body.missing"), Filtered)  # null
    for kept in ['{"k": 0}', '{"k": ""}', '{"k": []}', '{"k": "yes"}']:  # only false and null leave it out
        assert isinstance(shaped(sqs(kept), EVENT_FILTER="body.k"), Entry), kept


@pytest.mark.parametrize(
    ("variable", "expression", "body"),
    [
        ("EVENT_DETAIL", "abs(body.v)", '{"v": "text"}'),
        ("EVENT_DETAIL", "sum(body.v)", '{"v": [1e308, 1e308]}'),  # infinity: not JSON
        ("EVENT_DETAIL", "sum(body.v)", '{"v": [9223372036854775807, 1]}'),  # beyond int64
        ("EVENT_FILTER", "starts_with(body.v, 'a')", '{"v": 5}'),
    ],
)
def test_a_detail_or_filter_that_fails_fails_its_record_alone_as_poison(variable, expression, body):
    rejected = shaped(sqs(body), **{variable: expression})
    assert isinstance(rejected, Rejected) and rejected.code == SHAPING_FAILED in RetryPolicy.poison_codes
    assert variable in rejected.message and "text" not in rejected.message  # why, never the body


def test_a_detail_nested_past_eventbridges_depth_fails_its_record():
    rejected = shaped(sqs("{}"), EVENT_DETAIL="body", EVENT_SOURCE_PATH="x")
    assert isinstance(rejected, Entry)
    deep = "[" * 1000 + "]" * 1000
    rejected = shaped(SourceRecord("id", "{}", raw={"deep": json.loads(deep)}), EVENT_DETAIL="deep")
    assert isinstance(rejected, Rejected) and "deeper" in rejected.message


# -- hostile results: for any body and any expression of a set, one outcome per record, never a raise ----

EXPRESSIONS = [
    "body", "body.a", "body.a.b", "@", "messageAttributes", "to_number(body.a)", "abs(body.a)", "length(body.a)",
    "sum(body.a)", "avg(body.a)", "max(body.a)", "join(',', body.a)", "keys(body)", "body.a[0]", "body.*",
    "not_null(body.a, body.b)", "to_string(body)", "sort(body.a)", "body.a == `1`", "type(body.a)",
    "{x: body.a, y: eventSourceARN}", "[body.a, body.a]", "merge(body, body)", "reverse(body.a)",
]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=140),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("abc"), children, max_size=3),
    max_leaves=8,
)
BODIES = st.one_of(st.text(max_size=30), VALUES.map(json.dumps), st.dictionaries(st.sampled_from("ab"), VALUES)
                   .map(json.dumps))
VARIABLES = ["EVENT_DETAIL", "EVENT_RESOURCES", "EVENT_TIME", "EVENT_FILTER", "EVENT_SOURCE_PATH",
             "EVENT_DETAIL_TYPE_PATH"]


@hypothesis_settings(max_examples=300, deadline=None)
@given(body=BODIES, env=st.dictionaries(st.sampled_from(VARIABLES), st.sampled_from(EXPRESSIONS), min_size=1))
def test_any_expression_on_any_body_gives_a_sendable_entry_or_one_clear_outcome(body, env):
    item = shaped(sqs(body), **env)
    if isinstance(item, Rejected):
        assert item.code == SHAPING_FAILED and ("EVENT_DETAIL" in env or "EVENT_FILTER" in env)
    elif isinstance(item, Filtered):
        assert "EVENT_FILTER" in env
    else:
        report = ParamValidator().validate({"Entries": [item.fields]}, PUT_EVENTS.input_shape)
        assert not report.has_errors(), report.generate_report()
        assert isinstance(json.loads(item.fields["Detail"]), dict)
        assert len(item.fields["DetailType"]) <= 128
