"""net/cbor.py writes the Custom Event Bus's request bodies itself: for any input of eventbridgev2's operations, the
request is botocore's, byte for byte, or botocore's own error; and the clients the function makes use it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ParamValidationError
from botocore.serialize import create_serializer
from botocore.validate import ParamValidationDecorator
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from forwarder.net.cbor import CborBodies, head
from forwarder.net.clients import create_client

MODEL = botocore.session.get_session().get_service_model("eventbridgev2")
OPERATIONS = [MODEL.operation_model(name) for name in MODEL.operation_names]
TEXT = st.text(max_size=40) | st.sampled_from(["", "x" * 23, "x" * 24, "é" * 200, "\ud800", "a\udfffb"])
MOMENTS = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from(
        [timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=11))])),
    st.datetimes(),  # naive: botocore takes it as UTC
    st.sampled_from([datetime(1970, 1, 1, tzinfo=UTC), datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)]),
)
INTEGERS = st.integers(-(2**64) - 2, 2**64 + 2) | st.sampled_from([0, 23, 24, 255, 256, 65535, 65536, -24, -25])
# What a caller could put where the model says otherwise: botocore converts it, or raises.
STRAYS = st.sampled_from([1, 1.5, True, None, b"bytes", "2026-01-01T00:00:00Z", 1_767_225_600, [], {}, ("a",)])


def values(shape: Any, depth: int = 0) -> st.SearchStrategy:
    """Any value botocore's CBOR serializer is given for `shape`, mostly the right kind and sometimes a stray."""
    kind = shape.type_name
    if depth > 4:
        return st.none()
    if kind == "structure":
        members = shape.members
        right = st.lists(st.sampled_from(sorted(members)), unique=True).flatmap(
            lambda keys: st.fixed_dictionaries({key: st.none() | values(members[key], depth + 1) for key in keys}))
        return right | st.just({"NotAMember": "x"})
    if kind == "list":
        right = st.lists(values(shape.member, depth + 1), max_size=30)
        return right | right.map(tuple)
    if kind == "map":
        keys = TEXT | st.sampled_from([1, None, b"k"])  # (strays that a dict can hold as keys)
        return st.dictionaries(keys, values(shape.value, depth + 1), max_size=6)
    base = {
        "string": TEXT, "blob": st.binary(max_size=40) | TEXT | st.binary(max_size=40).map(bytearray),
        "timestamp": MOMENTS, "integer": INTEGERS, "long": INTEGERS, "boolean": st.booleans(),
    }.get(kind, st.none())
    return st.one_of(base, base, base, STRAYS)


def outcome(serializer: Any, parameters: Any, operation: Any) -> Any:
    try:
        return serializer.serialize_to_request(parameters, operation)
    except Exception as error:  # noqa: BLE001 - the same error, or the same request
        return type(error)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.name)
@hypothesis_settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_input_is_written_as_botocore_writes_it(operation, data):
    parameters = data.draw(values(operation.input_shape))
    botocores = create_serializer("smithy-rpc-v2-cbor", include_validation=False)
    ours = CborBodies(create_serializer("smithy-rpc-v2-cbor", include_validation=False))
    assert outcome(ours, parameters, operation) == outcome(botocores, parameters, operation)


@given(st.integers(0, 2**64 - 1))
def test_a_head_is_the_shortest_form(length):
    written = head(3 << 5, length)
    assert written[0] >> 5 == 3
    size = {24: 1, 25: 2, 26: 4, 27: 8}.get(written[0] & 31, 0)
    assert len(written) == 1 + size
    assert (int.from_bytes(written[1:], "big") if size else written[0] & 31) == length
    assert size == 0 or length >= (24 if size == 1 else 1 << (4 * size))  # nothing shorter would hold it


def _writer(client: Any) -> Any:
    serializer = client._serializer
    return serializer._serializer if isinstance(serializer, ParamValidationDecorator) else serializer


def test_the_functions_cbor_clients_write_their_bodies_here_and_the_others_do_not():
    assert isinstance(_writer(create_client("eventbridgev2", 4, validate=False)), CborBodies)
    assert not isinstance(_writer(create_client("events", 4, validate=False)), CborBodies)


def test_with_validation_the_input_is_validated_before_it_is_written():
    client = create_client("eventbridgev2", 4, region_name="us-east-1")
    assert isinstance(_writer(client), CborBodies)
    entries = [{"Source": "s", "DetailType": "d", "Detail": "{}", "SystemMetadata": {"DeduplicationId": "x"}}]
    arn = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
    operation = client.meta.service_model.operation_model("PutEvents")
    request = client._serializer.serialize_to_request({"EventBusArn": arn, "Entries": entries}, operation)
    plain = create_serializer("smithy-rpc-v2-cbor", include_validation=False)
    assert request == plain.serialize_to_request({"EventBusArn": arn, "Entries": entries}, operation)
    with pytest.raises(ParamValidationError, match="Entries"):
        client._serializer.serialize_to_request({"EventBusArn": arn, "Entries": "not a list"}, operation)


@hypothesis_settings(max_examples=500)
@given(st.datetimes(timezones=st.just(UTC)) | st.datetimes(
    min_value=datetime(1969, 12, 31), max_value=datetime(1970, 1, 2), timezones=st.just(UTC)))
def test_a_utc_time_is_botocores_epoch_seconds(moment):
    # Worked out without botocore's conversion: the same number, rounded once (1.003691, not 1.0036909999999999).
    serializer = create_serializer("smithy-rpc-v2-cbor", include_validation=False)
    seconds = CborBodies(serializer)._epoch_seconds(moment)
    assert seconds == serializer._convert_timestamp_to_str(moment)
    assert type(seconds) is type(serializer._convert_timestamp_to_str(moment))


def test_microseconds_are_added_before_one_division():
    moment = datetime(1970, 1, 1, 0, 0, 1, 3691, tzinfo=UTC)
    serializer = create_serializer("smithy-rpc-v2-cbor", include_validation=False)
    assert CborBodies(serializer)._epoch_seconds(moment) == 1.003691
