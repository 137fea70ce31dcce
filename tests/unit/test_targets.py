"""The kind of target, chosen once from the settings; and a Forwarder built from its parts.

What each target adds to an entry is in test_entries.py, and each target's request path is exercised
over HTTP (test_wire.py, test_bulk.py, test_custom_bus.py); here: which target the settings choose,
what each takes from its service model, how each counts a size, and the Forwarder's seams.
"""

from __future__ import annotations

import json

import botocore.session
import pytest

from forwarder.config.settings import Settings
from forwarder.function.forwarder import Forwarder
from forwarder.function.report import Reporter
from forwarder.net.wire import WirePutEvents
from forwarder.records.record import EventError, SourceRecord
from forwarder.stages.claim_check import NoClaimCheck
from forwarder.stages.quarantine import NoQuarantine
from forwarder.targets.buses import ClassicBus, CustomBus, GlobalEndpoint, entry_size, target_for
from forwarder_testing.events import sqs_event
from forwarder_testing.lambda_context import LambdaContext

CUSTOM_BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"


def settings(**env: str) -> Settings:
    return Settings.from_env({"EVENT_SOURCE": "my.app", "EVENT_DETAIL_TYPE": "Thing", **env})


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({}, ClassicBus),
        ({"EVENT_BUS_NAME": "orders"}, ClassicBus),
        ({"EVENT_BUS_NAME": "orders", "EVENT_ENDPOINT_ID": "abcde.veo"}, GlobalEndpoint),
        ({"EVENT_BUS_NAME": CUSTOM_BUS}, CustomBus),
    ],
)
def test_the_settings_choose_one_kind_of_target(env, kind):
    assert type(target_for(settings(**env))) is kind


def test_a_classic_bus_goes_on_the_wire_path():
    assert isinstance(target_for(settings()).send, WirePutEvents)


def test_entries_per_request_are_each_services_own():
    session = botocore.session.get_session()
    classic, custom = target_for(settings()), target_for(settings(EVENT_BUS_NAME=CUSTOM_BUS))
    for service, target in (("events", classic), ("eventbridgev2", custom)):
        entries = session.get_service_model(service).operation_model("PutEvents").input_shape.members["Entries"]
        assert target.max_entries == entries.metadata["max"]
    assert (classic.max_entries, custom.max_entries) == (10, 100)


def test_a_custom_bus_counts_its_system_metadata_and_a_classic_bus_neither_bus_nor_trace():
    record = SourceRecord("m-1", '{"a": 1}', group="g", trace_header="Root=1-a-b", raw={"eventSourceARN": "arn:q"})
    classic, custom = target_for(settings()), target_for(settings(EVENT_BUS_NAME=CUSTOM_BUS))
    fields = {"Source": "s", "DetailType": "t", "Detail": '{"a": 1}'}
    classic_fields, custom_fields = dict(fields), dict(fields)
    assert classic.complete(classic_fields, record, None) == custom.complete(custom_fields, record, None) == "g"
    assert classic.entry_size(classic_fields) == entry_size(fields)
    metadata = custom_fields["SystemMetadata"]
    assert custom.entry_size(custom_fields) == entry_size(fields) + len(metadata["DeduplicationId"]) + len("g")


# -- a Forwarder from its parts ----------------------------------------------------------------------


class Recorder:
    """Stands in for Powertools' Logger and Metrics: what the Reporter wrote, in order."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict]] = []
        self.metrics: dict[str, float] = {}

    def info(self, message: str, extra: dict) -> None:
        self.lines.append(("INFO", message, extra))

    def warning(self, message: str, extra: dict | None = None) -> None:
        self.lines.append(("WARNING", message, extra or {}))

    def error(self, message: str, extra: dict) -> None:
        self.lines.append(("ERROR", message, extra))

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.metrics[name] = value


def forwarder_sending_to(requests: list[list[dict]], recorder: Recorder, **env: str) -> Forwarder:
    """A forwarder whose target sends to a callable: it confirms every entry, but refuses any poison."""

    def send(entries: list[dict], deadline: float) -> dict:
        requests.append(entries)
        results = [{"ErrorCode": "MalformedDetail", "ErrorMessage": "no"} if "poison" in entry["Detail"]
                   else {"EventId": f"e-{len(requests)}-{i}"} for i, entry in enumerate(entries)]
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}

    config = settings(EVENT_BUS_NAME="orders", **env)
    return Forwarder(config, ClassicBus("orders", send), Reporter(recorder, recorder), NoClaimCheck(), NoQuarantine())


def test_a_forwarder_sends_through_its_targets_send_and_reports_through_its_reporter():
    # GIVEN a forwarder whose target sends to a callable, with both optional stages off
    requests: list[list[dict]] = []
    recorder = Recorder()
    forwarder = forwarder_sending_to(requests, recorder)
    # WHEN a batch of 25 arrives
    response = forwarder.handle(sqs_event([json.dumps({"n": n}) for n in range(25)]), LambdaContext())
    # THEN it goes out in requests of the target's size, each entry naming the bus, and the batch is confirmed
    assert response == {"batchItemFailures": []}
    assert sorted(len(request) for request in requests) == [5, 10, 10]  # sent concurrently: any order
    assert {entry["EventBusName"] for request in requests for entry in request} == {"orders"}
    (summary,) = [extra for level, message, extra in recorder.lines if message == "batch done"]
    assert (summary["received"], summary["forwarded"], summary["requests"]) == (25, 25, 3)
    assert recorder.metrics["RecordsForwarded"] == 25


def test_with_the_stages_off_a_large_entry_and_a_poison_record_are_reported():
    # GIVEN no claim check and no quarantine
    requests: list[list[dict]] = []
    recorder = Recorder()
    forwarder = forwarder_sending_to(requests, recorder, PUT_EVENTS_MAX_BYTES="1024")
    event = sqs_event([json.dumps({"big": "x" * 2000}), '{"poison": 1}', '{"small": 1}'])
    # WHEN the batch arrives
    response = forwarder.handle(event, LambdaContext())
    # THEN the large record is reported as too large and never sent, the poison one reported, the small one sent
    ids = [record["messageId"] for record in event["Records"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": ids[0]}, {"itemIdentifier": ids[1]}]}
    assert sorted(entry["Detail"] for request in requests for entry in request) == ['{"poison": 1}', '{"small": 1}']
    warnings = [extra for level, _, extra in recorder.lines if level == "WARNING"]
    assert [(w["item_id"], w["error_code"]) for w in warnings] == [
        (ids[0], "EntryTooLarge"), (ids[1], "MalformedDetail")
    ]


def test_an_event_it_cannot_read_is_reported_and_raised():
    recorder = Recorder()
    with pytest.raises(EventError, match="no 'Records' list"):
        forwarder_sending_to([], recorder).handle({"detail": {}}, LambdaContext())
    assert [level for level, _, _ in recorder.lines] == ["ERROR"]
    assert recorder.metrics == {"BatchesRejected": 1}
