"""The Lambda entry point: the only module that knows Lambda.

Cold start reads the settings (a wrong one fails here, naming the variable) and builds the one
EventBridge client; each invocation is then a straight pipeline:

    event -> records -> entries -> publish (batches, concurrency, retries) -> partial batch response
"""

from __future__ import annotations

import os
import time
from typing import Any

import botocore.session
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from forwarder.claim_check import ClaimCheck
from forwarder.clients import create_client
from forwarder.entries import build_entry
from forwarder.outcomes import Outcome, Publication
from forwarder.publisher import (
    Publisher,
    PublishOptions,
    Quarantine,
    custom_bus_sender,
    put_events_sender,
)
from forwarder.quarantine import QuarantineQueue
from forwarder.records import EventError, SourceRecord, parse_event
from forwarder.report import Summary, batch_response, failures_to_log, summarize
from forwarder.settings import Settings
from forwarder.wire import WirePutEvents

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "event-forwarder"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "EventForwarder"
CUSTOM_BUS_MAX_ENTRIES = 100
# What runs after the publisher stops must fit in the deadline margin. A Powertools log line costs about 30 us
# of a full core, 0.2 ms at a 256 MB function's seventh of one: a WARNING line per failed record of a
# 10,000-record batch would take longer than the default 1 s margin, Lambda would time the invocation out and
# deliver the whole batch again. So at most this many records are logged one by one (each kind of failure at
# least once), and one more line counts the rest by code.
MAX_FAILURE_LINES = 50
# Powertools logs the whole event (message bodies included) at INFO when this variable is true: the
# handler pins that off, as no body may reach the logs at INFO.
LOG_EVENT_VARIABLE = "POWERTOOLS_LOGGER_LOG_EVENT"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def create_publisher(settings: Settings) -> Publisher:
    """Classic buses through `events` PutEvents (10 entries a request); a Custom Event Bus through
    `eventbridgev2` (100 entries a request, deduplicated by the bus)."""
    options = PublishOptions(settings.max_request_bytes, settings.max_concurrency, settings.max_attempts)
    if settings.custom_bus:
        client = create_client("eventbridgev2", settings.max_concurrency)
        options.max_entries = CUSTOM_BUS_MAX_ENTRIES
        return Publisher(custom_bus_sender(client, settings.event_bus_name), options)
    # No client-side parameter validation (a fifth of botocore's CPU per request): build_entry, batching and
    # Settings guarantee what it checks for PutEvents (string fields, 1..10 entries, non-empty bus name and
    # trace header, a valid endpoint id). bulk.put_events, which takes the caller's entries, keeps it.
    session = botocore.session.get_session()
    client = create_client("events", settings.max_concurrency, validate=False, session=session)
    if settings.endpoint_id:  # SigV4a and per-endpoint rules: botocore's full request path
        return Publisher(put_events_sender(client, settings.endpoint_id), options)
    # The same requests for a fraction of the CPU (wire.py says what it keeps from botocore and why).
    return Publisher(WirePutEvents(session, client), options)


settings = Settings.from_env(os.environ)
publisher = create_publisher(settings)
claim_check = (
    ClaimCheck(create_client("s3", settings.max_concurrency), settings.large_payload_bucket)
    if settings.large_payload_bucket
    else None
)
quarantine_queue = (
    QuarantineQueue(create_client("sqs", settings.max_concurrency), settings.poison_queue_url)
    if settings.poison_queue_url
    else None
)


if os.environ.get(LOG_EVENT_VARIABLE, "").strip().lower() in ("1", "y", "yes", "t", "true", "on"):  # Powertools' true
    logger.warning(f"{LOG_EVENT_VARIABLE} is ignored: the event holds message bodies, which are never logged")


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False)  # an explicit False wins over POWERTOOLS_LOGGER_LOG_EVENT
def lambda_handler(event: dict, context: Any) -> dict:
    try:
        source, records = parse_event(event, settings.sns_unwrap)
    except EventError as error:
        logger.error("event rejected; Lambda will retry the whole batch", extra={"reason": str(error)})
        metrics.add_metric("BatchesRejected", MetricUnit.Count, 1)
        raise
    trace = os.environ.get("_X_AMZN_TRACE_ID")  # set per invocation by the runtime
    items = [build_entry(record, settings, trace) for record in records]
    deadline = _deadline(context, settings.deadline_margin_ms)
    if claim_check is not None:
        items = claim_check.offload(items, settings.max_request_bytes, deadline)
    publication = publisher.publish(items, deadline=deadline, quarantine=_quarantine_for(records))
    summary = summarize(publication.outcomes)
    _log_failures(records, publication.outcomes, summary)
    _emit(source, summary, publication)
    return batch_response(records, publication.outcomes)


def _quarantine_for(records: list[SourceRecord]) -> Quarantine | None:
    if quarantine_queue is None:
        return None

    def move_aside(index: int, code: str, message: str, deadline: float) -> None:
        quarantine_queue.send(records[index], code, message, deadline)

    return move_aside


def _deadline(context: Any, margin_ms: int) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return time.monotonic() + (remaining() - margin_ms) / 1000


def _log_failures(records: list[SourceRecord], outcomes: list[Outcome], summary: Summary) -> None:
    """A WARNING line for each of at most MAX_FAILURE_LINES failures, then one counting those left out."""
    logged = failures_to_log(outcomes, MAX_FAILURE_LINES)
    for index in logged:
        outcome = outcomes[index]
        logger.warning(
            "record quarantined" if outcome.quarantined else "record not forwarded; reported for redelivery",
            extra={
                "item_id": records[index].item_id,
                "error_code": outcome.error_code,
                "error_message": outcome.error_message,
                "attempts": outcome.attempts,
            },
        )
    not_logged = summary.failed + summary.quarantined - len(logged)
    if not_logged:
        logger.warning(
            "more records failed than are logged one by one",
            extra={"logged": len(logged), "not_logged": not_logged, "failures_by_code": summary.failures_by_code},
        )


def _emit(source: str, summary: Summary, publication: Publication) -> None:
    logger.info(
        "batch done",
        extra={
            "event_source": source,
            "received": summary.received,
            "forwarded": summary.forwarded,
            "failed": summary.failed,
            "quarantined": summary.quarantined,
            "retried": publication.retries,
            "requests": publication.requests,
            "failures_by_code": summary.failures_by_code,
        },
    )
    metrics.add_metric("RecordsReceived", MetricUnit.Count, summary.received)
    metrics.add_metric("RecordsForwarded", MetricUnit.Count, summary.forwarded)
    metrics.add_metric("RecordsFailed", MetricUnit.Count, summary.failed)
    metrics.add_metric("RecordsQuarantined", MetricUnit.Count, summary.quarantined)
    metrics.add_metric("EntriesRetried", MetricUnit.Count, publication.retries)
    metrics.add_metric("PutEventsRequests", MetricUnit.Count, publication.requests)
