"""The four ways of moving an SQS batch onto EventBridge that the benchmark puts side by side.

Each contender has `prepare(event)` (untimed) and `run(prepared) -> failures` (timed). All of them
talk to the same endpoint through botocore's AWS_ENDPOINT_URL, which the runner sets before any
client exists. A run that reports failures invalidates the measurement (the runner checks).
"""

from __future__ import annotations

import gc
import os
from typing import Any

from forwarder_testing.lambda_context import LambdaContext

CONTEXT_TIMEOUT_MS = 900_000  # Lambda's longest timeout: the deadline never cuts a benchmark run short


def _bus() -> str:
    return os.environ.get("EVENT_BUS_NAME") or "default"


class Forwarder:
    """This project: the warm handler, exactly as Lambda calls it (the handler's glue around a Forwarder).

    `forwarder`: a what-if of the runner's (another concurrency, another request path); by default the one a
    cold start builds from the environment.
    """

    key = "forwarder"
    label = "forwarder (warm handler)"

    def __init__(self, forwarder: Any = None) -> None:
        from forwarder import handler

        self.forwarder = forwarder or handler.cold_start(os.environ)
        self.lambda_handler = handler.entry_point(self.forwarder)
        # As Lambda's init ends (handler.lambda_init): what is built so far is frozen for the garbage collector. Here
        # that also freezes the benchmark's own objects (the other contenders and forwarders), which a Lambda
        # process does not hold: unfrozen, every full collection in a forwarder's run walked them too.
        gc.freeze()

    def prepare(self, event: dict) -> dict:
        return event

    def run(self, event: dict) -> int:
        response = self.lambda_handler(event, LambdaContext(timeout_ms=CONTEXT_TIMEOUT_MS))
        return len(response["batchItemFailures"])


class PerRecord:
    """(a) Powertools' BatchProcessor with one put_events per record: what a Powertools user writes first."""

    key = "per_record"
    label = "(a) Powertools BatchProcessor, 1 put_events per record"

    def __init__(self) -> None:
        import boto3
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        client = boto3.client("events")
        source, detail_type, bus = os.environ["EVENT_SOURCE"], os.environ["EVENT_DETAIL_TYPE"], _bus()
        self.processor = BatchProcessor(event_type=EventType.SQS)
        self.process_partial_response = process_partial_response

        def record_handler(record: Any) -> None:
            entry = {"Source": source, "DetailType": detail_type, "Detail": record.body, "EventBusName": bus}
            response = client.put_events(Entries=[entry])
            if response["FailedEntryCount"]:
                raise RuntimeError(response["Entries"][0].get("ErrorCode"))

        self.record_handler = record_handler

    def prepare(self, event: dict) -> dict:
        return event

    def run(self, event: dict) -> int:
        response = self.process_partial_response(
            event=event, record_handler=self.record_handler, processor=self.processor,
            context=LambdaContext(timeout_ms=CONTEXT_TIMEOUT_MS),
        )
        return len(response["batchItemFailures"])


class Chunked:
    """(b) The loop in AWS's documentation: entries in chunks of 10, one put_events after another."""

    key = "chunked"
    label = "(b) sequential 10-entry put_events (AWS docs loop)"

    def __init__(self) -> None:
        import boto3

        self.client = boto3.client("events")
        self.source, self.detail_type, self.bus = os.environ["EVENT_SOURCE"], os.environ["EVENT_DETAIL_TYPE"], _bus()

    def prepare(self, event: dict) -> dict:
        return event

    def run(self, event: dict) -> int:
        records = event["Records"]
        failed: list[str] = []
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            entries = [
                {"Source": self.source, "DetailType": self.detail_type, "Detail": r["body"], "EventBusName": self.bus}
                for r in chunk
            ]
            response = self.client.put_events(Entries=entries)
            if response["FailedEntryCount"]:
                failed += [r["messageId"] for r, e in zip(chunk, response["Entries"], strict=True) if "ErrorCode" in e]
        return len({"batchItemFailures": [{"itemIdentifier": i} for i in failed]}["batchItemFailures"])


class Floor:
    """(c) The SDK floor: the forwarder's own entries, pre-built in 10-entry calls, sent one after another."""

    key = "floor"
    label = "(c) SDK floor: pre-built 10-entry put_events only"

    def __init__(self) -> None:
        import boto3

        from forwarder.config.settings import Settings
        from forwarder.entries.json_entries import build_entry
        from forwarder.records.event import parse_event
        from forwarder.targets.buses import target_for

        self.client = boto3.client("events")
        self.settings = Settings.from_env(os.environ)
        self.target = target_for(self.settings)
        self.build_entry, self.parse_event = build_entry, parse_event

    def prepare(self, event: dict) -> list[list[dict]]:
        records = self.parse_event(event)[1]
        entries = [self.build_entry(r, self.settings, self.target, None).fields for r in records]
        return [entries[i : i + 10] for i in range(0, len(entries), 10)]

    def run(self, chunks: list[list[dict]]) -> int:
        put_events = self.client.put_events
        failed = 0
        for entries in chunks:
            failed += put_events(Entries=entries)["FailedEntryCount"]
        return failed


ALL = (Forwarder, PerRecord, Chunked, Floor)
