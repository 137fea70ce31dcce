"""Raw mode (EVENT_PAYLOAD=raw): its settings, the raw entry's fields and size, and the model's limits.

Over HTTP, through the fault endpoint's PutRawEvents: tests/integration/test_raw_payload.py.
"""

from __future__ import annotations

import json

import botocore.session
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forwarder.config.raw_settings import RawPayload
from forwarder.config.settings import ConfigurationError, Settings
from forwarder.entries.raw_entries import RawShaping, build_raw_entry
from forwarder.entries.raw_format import (
    CLOUDEVENTS_JSON,
    JSON,
    OCTET_STREAM,
    detected_content_type,
    payload_bytes,
    raw_entry_size,
)
from forwarder.records.record import SourceRecord
from forwarder.targets.buses import CustomBus, RawBus, target_for
from forwarder.targets.limits import entry_rules

BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
RAW = {"EVENT_SOURCE": "my.app", "EVENT_DETAIL_TYPE": "OrderPlaced", "EVENT_BUS_NAME": BUS, "EVENT_PAYLOAD": "raw"}


def raw_settings(**env: str) -> Settings:
    return Settings.from_env(RAW | env)


TARGETS: dict[int, tuple[Settings, object]] = {}  # a target (and its client) per settings, made once


def build(record: SourceRecord, settings: Settings | None = None):
    settings = settings or raw_settings()
    if id(settings) not in TARGETS:
        TARGETS[id(settings)] = (settings, target_for(settings, botocore.session.get_session()))
    target = TARGETS[id(settings)][1]
    shaper = RawShaping.from_settings(settings).for_batch()
    return build_raw_entry(record, settings, target, None, shaper), shaper


def test_json_is_the_default_and_raw_is_read_with_its_variables():
    assert Settings.from_env({k: v for k, v in RAW.items() if k != "EVENT_PAYLOAD"}).raw is None
    settings = raw_settings(RAW_CONTENT_TYPE="application/avro",
                            RAW_SCHEMA_REGISTRY_URI="https://registry.example.com:8081",
                            RAW_SCHEMA_REGISTRY_CONNECTION_ARN="arn:aws:events:us-east-1:123456789012:connection/c")
    assert settings.raw.content_type == "application/avro"
    assert settings.raw.schema_registry == {
        "RegistryUri": "https://registry.example.com:8081",
        "ConfluentPublicRegistryConfiguration": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c"},
    }


@pytest.mark.parametrize(("env", "variable"), [
    ({"EVENT_BUS_NAME": "arn:aws:events:us-east-1:123456789012:event-bus/orders"}, "EVENT_PAYLOAD"),
    ({"EVENT_PAYLOAD": "avro"}, "EVENT_PAYLOAD"),
    ({"EVENT_TIME": "body.at"}, "EVENT_TIME"),
    ({"EVENT_RESOURCES": "[body.arn]"}, "EVENT_RESOURCES"),
    ({"RAW_CONTENT_TYPE": "application/" + "x" * 250}, "RAW_CONTENT_TYPE"),
    ({"RAW_METADATA": "{a: "}, "RAW_METADATA"),
    ({"RAW_SCHEMA_REGISTRY_URI": "arn:aws:glue:us-east-1:1:registry/x"}, "RAW_SCHEMA_REGISTRY_URI"),
    ({"RAW_SCHEMA_REGISTRY_CONNECTION_ARN": "arn:aws:events:us-east-1:123456789012:connection/c"},
     "RAW_SCHEMA_REGISTRY_CONNECTION_ARN"),
    ({"RAW_SCHEMA_REGISTRY_URI": "https://r.example.com", "RAW_SCHEMA_REGISTRY_CONNECTION_ARN": "nope"},
     "RAW_SCHEMA_REGISTRY_CONNECTION_ARN"),
    ({"EVENT_PAYLOAD": "json", "RAW_CONTENT_TYPE": "application/avro"}, "RAW_CONTENT_TYPE"),
])
def test_a_refused_setting_names_its_variable(env, variable):
    with pytest.raises(ConfigurationError, match=variable):
        raw_settings(**env)


def test_raw_mode_chooses_the_raw_target_with_the_models_limits():
    target = target_for(raw_settings(), botocore.session.get_session())
    assert isinstance(target, RawBus)
    assert target.max_entries == entry_rules("eventbridgev2", "PutRawEvents").max_entries == 100
    assert type(target_for(Settings.from_env({**RAW, "EVENT_PAYLOAD": "json"}))) is CustomBus


@pytest.mark.parametrize(("body", "expected"), [
    ('{"specversion": "1.0", "type": "t", "source": "s", "id": "1"}', CLOUDEVENTS_JSON),
    ('{"type": "t"}', JSON),
    ("[1, 2]", JSON),
    ('"quoted"', JSON),
    ("12345678901234567890123", JSON),  # beyond int64: still JSON, though a Detail could not hold it
    ("\ufeff{}", JSON),
    ("NaN", OCTET_STREAM),
    ("plain text", OCTET_STREAM),
    ("{broken", OCTET_STREAM),
    (b"\x00\xff", OCTET_STREAM),
    (None, OCTET_STREAM),
])
def test_the_content_type_is_detected(body, expected):
    assert detected_content_type(body) == expected


@given(st.binary() | st.text())
def test_data_is_the_payload_as_written(payload):
    # Kinesis data that is UTF-8 is read as text: the bytes come back as they were.
    if isinstance(payload, bytes):
        try:
            body = payload.decode("utf-8")
        except UnicodeDecodeError:
            body = payload
        assert payload_bytes(body) == payload
    else:
        assert payload_bytes(payload).decode("utf-8", "surrogatepass") == payload


def test_the_entry_carries_data_content_type_metadata_and_the_system_metadata():
    record = SourceRecord(item_id="m-1", body='{"a": 1}', group="g-1",
                          raw={"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo",
                               "messageAttributes": {"tenant": {"dataType": "String", "stringValue": "acme"}}})
    entry, _ = build(record)
    assert entry.fields["Data"] == b'{"a": 1}' and entry.fields["Metadata"] == {"tenant": "acme"}
    system = entry.fields["SystemMetadata"]
    assert system["ContentType"] == JSON and system["EventGroupId"] == "g-1" and len(system["DeduplicationId"]) == 64
    assert entry.group == "g-1"
    expected = len(b'{"a": 1}') + len("tenant") + len("acme") + sum(map(len, system.values()))
    assert entry.size == raw_entry_size(entry.fields) == expected
    assert entry_rules("eventbridgev2", "PutRawEvents").problem(entry.fields) is None


def test_metadata_that_does_not_fit_is_left_out_and_counted():
    attributes = {f"key{n:03}": {"dataType": "String", "stringValue": "v"} for n in range(105)}
    attributes["bin"] = {"dataType": "Binary", "binaryValue": "AAE="}
    record = SourceRecord(item_id="m-1", body="x", raw={"messageAttributes": attributes})
    entry, shaper = build(record)
    assert len(entry.fields["Metadata"]) == 100 and "key104" not in entry.fields["Metadata"]
    assert shaper.fallbacks == {("message attributes", "left out: more than 100 Metadata pairs"): 5,
                                ("message attributes", "left out: a binary attribute"): 1}


def test_raw_metadata_falls_back_to_the_attributes_when_it_gives_no_object():
    settings = raw_settings(RAW_METADATA="body.meta")
    attributes = {"tenant": {"dataType": "String", "stringValue": "acme"}}
    shaped, _ = build(SourceRecord("1", json.dumps({"meta": {"a": 1, "b": True, "c": [1]}}), raw={}), settings)
    assert shaped.fields["Metadata"] == {"a": "1", "b": "true"}
    fallen, shaper = build(SourceRecord("2", json.dumps({"meta": "text"}), raw={"messageAttributes": attributes}),
                           settings)
    assert fallen.fields["Metadata"] == {"tenant": "acme"}
    assert shaper.fallbacks == {("RAW_METADATA", "not an object"): 1}


def test_a_record_with_a_problem_and_a_filtered_record_never_become_entries():
    rejected, _ = build(SourceRecord("1", None, problem="kinesis data is not valid base64"))
    assert rejected.code == "InvalidRecord"
    filtered, _ = build(SourceRecord("2", '{"keep": false}', raw={}), raw_settings(EVENT_FILTER="body.keep"))
    assert type(filtered).__name__ == "Filtered"


def test_the_model_limits_hold_for_maps_and_blobs():
    rules = entry_rules("eventbridgev2", "PutRawEvents")
    ok = {"Data": b"x", "SystemMetadata": {"ContentType": "application/json"}}
    assert rules.problem(ok) is None
    assert "required" in rules.problem({"Data": b"x"})
    assert "pattern" in rules.problem({**ok, "SystemMetadata": {"ContentType": "text/plain"}})
    assert "pattern" in rules.problem({**ok, "Metadata": {"a/b": "v"}})
    assert "shorter" in rules.problem({**ok, "Metadata": {"a": ""}}) or "empty" in rules.problem(
        {**ok, "Metadata": {"a": ""}})
    assert "must be a blob" in rules.problem({**ok, "Data": 5})
    assert RawPayload().content_type is None


ATTRIBUTE = st.fixed_dictionaries({}, optional={
    "dataType": st.sampled_from(["String", "Number", "Binary", "String.custom", "Binary.png"]) | st.text(max_size=5),
    "stringValue": st.text(max_size=20) | st.integers() | st.none(),
    "binaryValue": st.text(max_size=8),
})


@given(
    body=st.text(max_size=200) | st.binary(max_size=200),
    attributes=st.dictionaries(st.text(max_size=140), ATTRIBUTE | st.integers(), max_size=110),
    sns=st.dictionaries(st.text(max_size=140), st.fixed_dictionaries(
        {"Type": st.sampled_from(["String", "Number", "Binary"]), "Value": st.text(max_size=10)}), max_size=5),
    group=st.none() | st.text(min_size=1, max_size=300),
)
def test_whatever_a_record_carries_its_raw_entry_is_one_the_model_takes(body, attributes, sns, group):
    # A record's content can only leave things out of its entry, never make the service refuse the request.
    record = SourceRecord(item_id="m-1", body=body, group=group,
                          raw={"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo",
                               "messageAttributes": attributes},
                          envelope={"MessageAttributes": sns} if sns else None)
    entry, shaper = build(record, SETTINGS)
    assert entry_rules("eventbridgev2", "PutRawEvents").problem(entry.fields) is None
    assert entry.fields["Data"] == payload_bytes(body)
    kept = len(entry.fields.get("Metadata", {}))
    assert kept <= 100 and all(reason.startswith("left out") for _, reason in shaper.fallbacks)


SETTINGS = raw_settings()
