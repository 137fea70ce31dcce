"""fast_json: orjson's reading and writing give exactly what the standard library's json gives, for any input."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from forwarder.core import fast_json
from forwarder.entries.json_entries import to_detail
from forwarder.net.wire import request_body, stdlib_request_body
from tests.unit.test_detail_limits import JSON_TEXTS, old_to_detail


def test_the_function_s_environment_has_orjson():
    # The lock (src/requirements.txt) installs it: without it every test here would compare json with itself.
    assert fast_json.orjson is not None


def outcome(read: Any, data: str | bytes) -> tuple:
    """What a reader gives, comparable exactly: the value with every number's type (and NaN, -0.0), or the
    exception's class."""
    try:
        return ("value", exact(read(data)))
    except (ValueError, RecursionError) as error:
        return ("error", type(error))


def exact(value: Any) -> Any:
    if isinstance(value, float):
        return ("float", value.hex())  # 0.0 and -0.0 apart, NaN equal to itself
    if isinstance(value, bool | int):
        return (type(value).__name__, value)
    if isinstance(value, dict):
        return ("dict", [(key, exact(item)) for key, item in value.items()])  # order kept
    if isinstance(value, list):
        return ("list", [exact(item) for item in value])
    return (type(value).__name__, value)


EDGES = [
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "18446744073709551616", "[123456789012345678901234]", "1" * 5000, "-0", "-0.0", "[-0]",
    "1e400", "-1e400", "1e-400", "1.7976931348623159e308", "NaN", "[Infinity]", "-Infinity",
    '{"a":1,"b":2,"a":3}', '{"a":{"x":1},"a":[1]}', '"\\ud800"', '"\\udc00\\ud800"', '{"\\ud800":1}',
    '"\\ud834\\udd1e"', '"a\x01b"', '"\x7f\u2028"', " \t\n\r1 ", "1 \x0c", "\ufeff1", "[1,]", "01", "1.", ".5",
    "", "  ", "[" * 1024 + "]" * 1024, "[" * 1025 + "]" * 1025, "[" * 5000 + "]" * 5000,
    '{"a":[' * 600 + "]}" * 600, "12345678901234567890.5", "1" * 18, "-" + "1" * 19, "\ud800", '"\ud800"',
]
EDGE_BYTES = [
    b"\xef\xbb\xbf{}", b"\xff", '{"a":"\u00e9"}'.encode("utf-16"), '["\u00e9"]'.encode("utf-32-be"), b"1\x00",
    b'{"a":1}\x00', b'"\xed\xa0\x80"', b'"\xc0\x80"', b'{"Entries":[{"EventId":"a"}],"FailedEntryCount":0}',
]


@pytest.mark.parametrize("data", EDGES + EDGE_BYTES + [text.encode() for text in EDGES if text.isascii()],
                         ids=lambda data: repr(data)[:40])
def test_reading_an_edge_gives_what_json_gives(data):
    assert outcome(fast_json.loads, data) == outcome(json.loads, data)


TOKENS = st.text(alphabet=st.sampled_from('[]{}"\\:,0123456789eE.-+NaIuU tfrulsnd8\ufeff\x00\t\n\u00e9'), max_size=60)


@hypothesis_settings(max_examples=500, deadline=None)
@given(st.one_of(JSON_TEXTS, TOKENS, st.text(max_size=80)), st.sampled_from(["str", "utf-8", "surrogatepass"]))
def test_reading_any_text_gives_json_s_value_or_json_s_error(text, form):
    data = text if form == "str" else text.encode("utf-8", "surrogatepass" if form == "surrogatepass" else "strict")
    assert outcome(fast_json.loads, data) == outcome(json.loads, data)


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_reading_any_bytes_gives_json_s_value_or_json_s_error(data):
    assert outcome(fast_json.loads, data) == outcome(json.loads, data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
    | st.datetimes(timezones=st.just(UTC)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=12,
)
TEXTS = st.text(max_size=40)  # lone surrogates included
TIMES = st.floats() | st.floats(min_value=-1e-3, max_value=1e-3) | st.floats(min_value=1e8, max_value=2e10)
ENTRIES = st.fixed_dictionaries(
    {"Source": TEXTS, "DetailType": TEXTS, "Detail": TEXTS, "EventBusName": TEXTS},
    optional={"Time": TIMES, "Resources": st.lists(TEXTS, max_size=3), "TraceHeader": TEXTS,
              "Other": JSON_VALUES},
)


@hypothesis_settings(max_examples=500, deadline=None)
@given(st.lists(ENTRIES | st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=4), max_size=4))
def test_the_request_body_of_any_entries_is_what_json_writes(entries):
    assert request_body(entries) == stdlib_request_body(entries)


@pytest.mark.parametrize("value", [1e-05, 1e-07, -2.5e-06, 5e-324, math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-4,
                                   1e16, 1e22, 1733270000.123456, 2**64, -(2**63) - 1, True, None])
def test_a_body_with_any_number_is_what_json_writes(value):
    entries = [{"Source": "s", "Time": value, "Resources": ["a"]}]
    assert request_body(entries) == stdlib_request_body(entries)


def test_json_writes_what_orjson_would_not():
    # The stdlib path alone, called directly: a lone surrogate as its \u escape, a datetime as epoch seconds.
    moment = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    entries = [{"Detail": '{"a":"\ud800\u00e9"}', "Time": moment, "Resources": []}]
    assert stdlib_request_body(entries) == (
        b'{"Entries":[{"Detail":"{\\"a\\":\\"\\ud800\xc3\xa9\\"}","Time":%s,"Resources":[]}]}' % repr(
            moment.timestamp()).encode()
    )
    assert fast_json.dumps({"Entries": entries}) is None
    assert request_body(entries) == stdlib_request_body(entries)


def test_the_handler_s_entries_are_written_by_orjson():
    # What build_entry and ClassicBus.complete make: strings, a float Time, a list of ARNs.
    entry = {"Source": "my.app", "DetailType": "Thing", "Detail": '{"a":"\u00e9"}', "Time": 1733270000.123,
             "Resources": ["arn:aws:sqs:us-east-1:123456789012:q"], "EventBusName": "default", "TraceHeader": "Root=1"}
    body = fast_json.dumps({"Entries": [entry]})
    assert body is not None
    assert body == stdlib_request_body([entry])


@pytest.mark.parametrize("text", ['{"n": 12345678901234567890}', '[12345678901234567890]', "[1e400]", '["\\ud800"]',
                                  '{"a":1,"a":2}', "-0", "[" * 1001 + "]" * 1001])
def test_the_detail_of_a_body_json_alone_reads_is_what_it_was(text):
    assert to_detail(text) == old_to_detail(text)


@pytest.mark.parametrize("text", ['"12345678901234567890"', "[1, 2.5]", '{"a": [1, {"b": null}]}'])
def test_json_alone_reads_what_orjson_reads_alike(text):
    # The fallback itself (json.loads, unchanged): the same value as the orjson path's.
    assert outcome(json.loads, text) == outcome(fast_json.loads, text)
    assert fast_json.loads(text, fast_json.digits_as_zeros(text)) == json.loads(text)


def _stock_and_ours() -> tuple[Any, Any]:
    import botocore.loaders

    from forwarder.targets.limits import DataFiles

    return botocore.loaders.JSONFileLoader(), DataFiles()


@pytest.mark.parametrize("name", ["endpoints", "partitions", "_retry", "sdk-default-configuration",
                                  "events/2015-10-07/service-2", "events/2015-10-07/endpoint-rule-set-1",
                                  "eventbridgev2/2025-05-15/service-2", "sqs/2012-11-05/service-2",
                                  "s3/2006-03-01/endpoint-rule-set-1"])
def test_botocore_s_data_files_read_through_the_shared_loader_are_what_botocore_reads(name):
    # What a cold start loads (limits.data_loader is the session's loader): equal to botocore's own reading
    # (dict == OrderedDict compares the items), read by orjson (plain dicts).
    import os

    import botocore

    stock, ours = _stock_and_ours()
    path = os.path.join(os.path.dirname(botocore.__file__), "data", name)
    assert stock.exists(path), f"botocore {botocore.__version__} has no {name}: name what this one loads"
    mine = ours.load_file(path)
    assert mine == stock.load_file(path)
    assert type(mine) is dict


def test_the_shared_loader_finds_nothing_where_botocore_finds_nothing(tmp_path):
    stock, ours = _stock_and_ours()
    assert ours.load_file(str(tmp_path / "absent")) is None is stock.load_file(str(tmp_path / "absent"))


def written(dump: Any, value: Any) -> tuple:
    try:
        return ("text", dump(value))
    except (ValueError, TypeError) as error:
        return ("error", type(error))


def stdlib_dump_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@hypothesis_settings(max_examples=500, deadline=None)
@given(JSON_VALUES | st.dictionaries(st.sampled_from(["data", "dataBase64", "a"]), JSON_VALUES | TEXTS | TIMES,
                                     max_size=3))
def test_a_detail_wrapper_of_any_value_is_what_json_writes(value):
    from forwarder.entries.json_entries import dump_json

    assert written(dump_json, value) == written(stdlib_dump_json, value)


@pytest.mark.parametrize("value", ["text \u00e9 \u2028 \x01", 42, 2**64, -(2**63) - 1, None, True, 1e-07, math.nan])
def test_a_detail_wrapper_of_any_leaf_is_what_json_writes(value):
    from forwarder.entries.json_entries import dump_json

    assert written(dump_json, {"data": value}) == written(stdlib_dump_json, {"data": value})
