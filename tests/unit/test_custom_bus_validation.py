"""The Custom Event Bus's client skips botocore's parameter validation (about a tenth of its CPU per record,
BENCHMARKS.md): every entry the two targets build, for any record, must pass botocore's own validator for
`eventbridgev2`'s PutEvents and PutRawEvents, with the request members the target adds, so that what the check
would have refused on the client cannot arise."""

from __future__ import annotations

import botocore.session
from botocore.validate import ParamValidator
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from forwarder.config.settings import Settings
from forwarder.core.items import Entry, Filtered, Rejected
from forwarder.entries.json_entries import build_entry
from forwarder.entries.raw_entries import RawShaping, build_raw_entry
from forwarder.records.record import SourceRecord
from forwarder.targets.buses import target_for

BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
BASE = {"EVENT_SOURCE": "my.app", "EVENT_DETAIL_TYPE": "Thing", "EVENT_BUS_NAME": BUS}
MODEL = botocore.session.get_session().get_service_model("eventbridgev2")
SESSION = botocore.session.get_session()
SESSION.set_credentials("test", "test")

TEXT = st.one_of(st.text(max_size=300), st.binary(max_size=60).map(lambda b: b.decode("latin-1")))
ANY_TEXT = st.none() | TEXT
ATTRIBUTES = st.dictionaries(
    TEXT, st.fixed_dictionaries({"dataType": st.sampled_from(["String", "Number", "Binary", "String.x"]),
                                 "stringValue": ANY_TEXT}), max_size=12,
)


@st.composite
def records(draw) -> SourceRecord:
    raw = {"eventSourceARN": draw(st.sampled_from(["arn:aws:sqs:us-east-1:123456789012:q", "", "x" * 2000])),
           "messageAttributes": draw(ATTRIBUTES)}
    return SourceRecord(
        draw(st.text(min_size=1, max_size=200)),
        draw(st.none() | st.binary(max_size=300) | st.text(max_size=300)),
        time=draw(st.none() | st.floats(min_value=1e-3, max_value=9.9e12)),
        trace_header=draw(ANY_TEXT),
        group=draw(st.none() | st.text(min_size=1, max_size=300)),
        raw=raw,
        resources=tuple(draw(st.lists(st.text(max_size=100), max_size=3))),
        sub_sequence=draw(st.none() | st.integers(0, 2**40)),
        partition_key=draw(st.none() | st.text(min_size=1, max_size=300)),
    )


TARGETS: dict[tuple, tuple[Settings, object]] = {}


def made(**env: str) -> tuple[Settings, object]:
    key = tuple(sorted(env.items()))
    if key not in TARGETS:
        settings = Settings.from_env(BASE | env)
        TARGETS[key] = settings, target_for(settings, SESSION)
    return TARGETS[key]


def assert_valid(operation: str, entry: Entry | Rejected | Filtered, **request: object) -> None:
    if not isinstance(entry, Entry):
        return  # refused (or filtered) before any request: nothing is sent
    shape = MODEL.operation_model(operation).input_shape
    report = ParamValidator().validate({"Entries": [entry.fields], **request}, shape)
    assert not report.has_errors(), report.generate_report()


@hypothesis_settings(deadline=None)
@given(record=records(), fallback=ANY_TEXT, groups=st.sampled_from(["true", "false"]))
def test_every_custom_bus_entry_passes_botocores_validation(record, fallback, groups):
    settings, target = made(EVENT_GROUPS=groups)
    assert_valid("PutEvents", build_entry(record, settings, target, fallback), EventBusArn=BUS)


@hypothesis_settings(deadline=None)
@given(record=records(), fallback=ANY_TEXT, content_type=st.sampled_from(["", "application/avro"]),
       registry=st.booleans())
def test_every_raw_entry_passes_botocores_validation(record, fallback, content_type, registry):
    env = {"EVENT_PAYLOAD": "raw", **({"RAW_CONTENT_TYPE": content_type} if content_type else {})}
    if registry:
        env["RAW_SCHEMA_REGISTRY_URI"] = "https://registry.example.com:8081"
    settings, target = made(**env)
    shaper = RawShaping.from_settings(settings).for_batch()
    entry = build_raw_entry(record, settings, target, fallback, shaper)
    request = {"EventBusArn": BUS}
    if settings.raw.schema_registry:
        request["SchemaRegistryConfiguration"] = settings.raw.schema_registry
    assert_valid("PutRawEvents", entry, **request)
