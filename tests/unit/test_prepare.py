"""bulk.prepare against botocore's own model: an entry either fails alone, or botocore takes and sends it.

Times are read as the AWS CLI reads its Timestamp type: the CLI passes the text of `--entries` on to
botocore, whose validator and serializer read it with botocore.utils.parse_to_aware_datetime.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import botocore.session
import pytest
from botocore.serialize import create_serializer
from botocore.utils import parse_to_aware_datetime
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from forwarder.core.items import Entry, Rejected
from forwarder.library.bulk import prepare

PUT_EVENTS = botocore.session.get_session().get_service_model("events").operation_model("PutEvents")
SERIALIZER = create_serializer("json")
FIELDS = ["Time", "Source", "Resources", "DetailType", "Detail", "EventBusName", "TraceHeader"]


def botocore_sends(fields: dict) -> dict:
    """The entry as botocore would put it on the wire, or an AssertionError saying why it would not."""
    report = ParamValidator().validate({"Entries": [fields]}, PUT_EVENTS.input_shape)
    assert not report.has_errors(), report.generate_report()
    return json.loads(SERIALIZER.serialize_to_request({"Entries": [fields]}, PUT_EVENTS)["body"])["Entries"][0]


def good(**extra) -> dict:
    return {"Source": "app", "DetailType": "Thing", "Detail": '{"n": 1}', **extra}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"TraceHeader": ""}, "TraceHeader must not be empty"),
        ({"EventBusName": ""}, "EventBusName must not be empty"),
        ({"EventBusName": "bad bus!"}, "EventBusName does not match"),
        ({"EventBusName": "b" * 1601}, "EventBusName is longer than 1600"),
        ({"TraceHeader": "t" * 501}, "TraceHeader is longer than 500"),
        ({"Resources": ["arn:" + "r" * 3000]}, "Resources[0] is longer than 2048"),
        ({"Resources": [1]}, "Resources[0] must be a string"),
        ({"Source": None}, "Source must be a string"),
        ({"Time": "0001-01-01T00:00:00+14:00"}, "OverflowError"),
        ({"Time": 1e20}, "not a timestamp"),
        ({"Time": "1e20"}, "not a timestamp"),
        ({"Time": -1e20}, "not a timestamp"),
        ({"Time": math.nan}, "not a timestamp"),
        ({"Time": True}, "a boolean is not a time"),
        ({"Time": [2026]}, "not a timestamp"),
        ({"Detail": {"n": math.inf, "s": {1, 2}}}, "Detail cannot be serialized"),
        ({"Colour": "red"}, "unknown field"),
    ],
)
def test_an_entry_botocore_would_refuse_or_fail_to_send_is_rejected_alone(extra, message):
    rejected = prepare(good(**extra))
    assert isinstance(rejected, Rejected) and rejected.code == "InvalidArgument"
    assert message in rejected.message


def test_a_default_bus_fills_an_empty_bus_name():
    assert prepare(good(EventBusName=""), "orders").fields["EventBusName"] == "orders"


# -- any entry: rejected with InvalidArgument, or botocore validates and serializes it --------------

ODD_TEXT = st.text() | st.sampled_from(["", " ", "\x00", "\ud800", "1e20", "-1e400", "NaN", "inf", "9" * 400])
ODD_NUMBERS = st.integers() | st.floats() | st.sampled_from([10**400, -(10**20), 2**63, 1e20, 253402300800])
ODD_TIMES = (
    st.datetimes(timezones=st.none() | st.timezones() | st.just(timezone(timedelta(hours=14))))
    | st.datetimes().map(lambda d: d.isoformat())
    | st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "Tuesday", "2014-10-01t20:30:00z"])
)
JSONISH = st.recursive(
    st.none() | st.booleans() | ODD_NUMBERS | ODD_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
# Each field: half the time a value of its own kind (odd as it may be), half the time any value at all.
OWN_KIND = {
    "Time": ODD_TIMES | ODD_NUMBERS | ODD_TEXT,
    "Resources": st.lists(ODD_TEXT, max_size=3),
    "Detail": st.dictionaries(st.text(max_size=5), JSONISH, max_size=3) | ODD_TEXT,
    "EventBusName": st.sampled_from(["orders", "arn:aws:events:us-east-1:123456789012:event-bus/o"]) | ODD_TEXT,
}
ANY_VALUE = JSONISH | ODD_TIMES | st.lists(ODD_TEXT, max_size=3)
ENTRIES = st.fixed_dictionaries({}, optional={name: OWN_KIND.get(name, ODD_TEXT) for name in FIELDS}) | st.builds(
    lambda known, unknown: {**known, **unknown},
    st.fixed_dictionaries({}, optional={name: OWN_KIND.get(name, ODD_TEXT) | ANY_VALUE for name in FIELDS}),
    st.dictionaries(st.text(max_size=8), ANY_VALUE, max_size=1),
)


@hypothesis_settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ENTRIES)
def test_any_entry_is_rejected_alone_or_sent_as_botocore_would(entry):
    prepared = prepare(entry)  # never raises
    if isinstance(prepared, Rejected):
        assert prepared.code == "InvalidArgument" and prepared.message
        return
    assert isinstance(prepared, Entry)
    botocore_sends(prepared.fields)


# -- Time as the AWS CLI reads it ------------------------------------------------------------------


def cli_reading(value) -> float:
    """The epoch seconds the AWS CLI (botocore's serializer) sends for this Time."""
    return botocore_sends(good(Time=value))["Time"]


def our_reading(value) -> float:
    return botocore_sends(prepare(good(Time=value)).fields)["Time"]


@pytest.mark.parametrize(
    "value",
    [
        "1412195400",
        1412195400,
        1412195400.5,
        " 1412195400 ",
        "2014-10-01t20:30:00.000z",
        "2014-10-01T20:30:00.000Z",
        "2014-10-01T20:30:00Z",
        "2014-10-01T20:30:00+02:00",
        "2014-10-01T20:30:00",
        "2014-10-01 20:30:00Z",
        "2014-10-01",
        "20141001T203000Z",
        datetime(2014, 10, 1, 20, 30, tzinfo=UTC),
        datetime(2014, 10, 1, 20, 30),
    ],
)
def test_every_timestamp_form_of_the_aws_cli_means_what_it_means_there(value):
    assert our_reading(value) == cli_reading(value)


def _iso(moment: datetime, separator: str, fraction: bool, zone: str) -> str:
    text = moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + (f".{moment.microsecond // 1000:03d}" if fraction else "")
    return text + zone


TIMESTAMP_TEXT = st.builds(
    _iso,
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30)),
    st.sampled_from(["T", "t", " "]),
    st.booleans(),
    st.sampled_from(["Z", "z", "+00:00", "-07:00", "+14:00", ""]),
) | st.integers(min_value=1, max_value=253402214400).flatmap(lambda n: st.sampled_from([n, str(n), float(n)]))


@hypothesis_settings(max_examples=300, deadline=None)
@given(TIMESTAMP_TEXT)
def test_generated_timestamps_read_as_the_aws_cli_reads_them(value):
    assert parse_to_aware_datetime(value)  # the form is one the CLI takes
    assert our_reading(value) == cli_reading(value)
