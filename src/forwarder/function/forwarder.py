"""The Forwarder: one batch in, the partial batch response out, its strategies chosen once, up front.

    event -> records -> entries -> claim check -> publish (quarantine) -> report -> partial batch response

`build_forwarder(env, report)` makes one from the environment, as a cold start does (a wrong setting
raises ConfigurationError naming the variable): the target (targets/buses.py) and the optional stages are
chosen there, once. A stage that is off is an object that does nothing (`NoClaimCheck`,
`NoQuarantine`, `NoVisibility`), so `handle` reads the same whatever the configuration.

The deadline is taken first and bounds every stage: reading the records and building the entries stop there
(a record not reached is reported as DeadlineExceeded), as the claim check and the publisher do.
The deadline margin (DEADLINE_MARGIN_MS) is shared: the publisher stops at the deadline, the visibility
calls for reported SQS records (stages/visibility.py) may go on for a quarter of the margin after it, and the other
three quarters are left to report and return (at a small CPU share, reporting a large batch needs them).
Nothing here knows Powertools: the handler passes its Logger and Metrics in a `Reporter`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from typing import Any

import botocore.session

from forwarder.config.settings import Settings
from forwarder.entries.json_entries import build_entries, build_entry
from forwarder.entries.raw_entries import RawShaping, build_raw_entry
from forwarder.entries.shaping import Shaping
from forwarder.function.report import Reporter, batch_response
from forwarder.net.clients import create_client
from forwarder.publish.options import PublishOptions
from forwarder.publish.publisher import Publisher
from forwarder.publish.runtime import KeptPool, Runtime
from forwarder.records.event import parse_event
from forwarder.records.record import EventError
from forwarder.stages.claim_check import ClaimCheck, NoClaimCheck
from forwarder.stages.quarantine import NoQuarantine, QuarantineQueue
from forwarder.stages.visibility import Backoff, NoVisibility, VisibilityBackoff
from forwarder.targets.buses import target_for
from forwarder.targets.limits import data_loader
from forwarder.targets.target import Target


class Forwarder:
    """The pipeline for one configuration: built once per execution environment, then `handle` per batch."""

    def __init__(
        self,
        settings: Settings,
        target: Target,
        report: Reporter,
        claim_check: ClaimCheck | NoClaimCheck,
        quarantine: QuarantineQueue | NoQuarantine,
        visibility: VisibilityBackoff | NoVisibility | None = None,
    ):
        self.settings = settings
        self.target = target
        self.report = report
        self.claim_check = claim_check
        self.quarantine = quarantine
        self.visibility = visibility or NoVisibility()
        options = PublishOptions(
            settings.max_request_bytes, settings.max_concurrency, settings.max_attempts, target.max_entries,
            concurrency_mode=settings.concurrency_mode,
        )
        # One thread pool for every invocation (Lambda hands a container one at a time): not started anew per batch.
        self.publisher = Publisher(target.send, options, runtime=Runtime(executor_factory=KeptPool()))
        # The entry builder: a PutEvents entry (entries/json_entries.py), or in raw mode a PutRawEvents one
        # (entries/raw_entries.py).
        self.build_entry = build_entry if settings.raw is None else build_raw_entry
        # None when no expression is set: no record view is built. Raw mode's shaper is always there (it also
        # counts the message attributes its Metadata leaves out).
        self.shaping = Shaping.from_settings(settings) if settings.raw is None else RawShaping.from_settings(settings)

    def close_connections(self) -> None:
        """Close every idle connection kept for reuse: the target's, the claim check's, the quarantine's and
        the visibility backoff's."""
        for stage in (self.target, self.claim_check, self.quarantine, self.visibility):
            stage.close_connections()

    def renew_after_restore(self) -> None:
        """SnapStart's after-restore hook (forwarder.function.snapstart): a jitter RNG of this copy's own."""
        self.publisher.renew_after_restore()

    def handle(self, event: Any, context: Any) -> dict:
        """Forward one Lambda batch; return the partial batch response. Raises EventError for an event that
        is not a batch this function can read (Lambda then retries it whole)."""
        settings = self.settings
        started = time.monotonic()
        # One deadline for every stage: reading, shaping and the claim check stop there as the publisher does.
        deadline = _deadline(context, settings.deadline_margin_ms)
        try:
            source, records = parse_event(event, settings.sns_unwrap, deadline)
        except EventError as error:
            self.report.rejected(error)
            raise
        trace = os.environ.get("_X_AMZN_TRACE_ID")  # set per invocation by the runtime
        shaper = None if self.shaping is None else self.shaping.for_batch()
        items = build_entries(records, settings, self.target, trace, shaper, deadline, build=self.build_entry)
        items = self.claim_check.offload(items, settings.max_request_bytes, deadline)
        publication = self.publisher.publish(items, deadline=deadline, quarantine=self.quarantine.for_batch(records))
        visibility_deadline = deadline + settings.deadline_margin_ms / 4000
        visibility = self.visibility.change(source, records, publication.outcomes, visibility_deadline, started)
        fallbacks = None if shaper is None else shaper.fallbacks
        self.report.published(source, records, publication, fallbacks, visibility)
        return batch_response(records, publication.outcomes)


def build_forwarder(
    env: Mapping[str, str], report: Reporter, *, quarantine: bool = True, visibility: bool = True
) -> Forwarder:
    """A Forwarder for the settings `env` holds, with the clients they need (botocore reads its own variables,
    AWS_ENDPOINT_URL and the like, from the process environment).

    `quarantine=False` and `visibility=False` leave those stages off whatever the settings say: the redrive
    command (redrive/run.py) keeps a record that fails again where it already is, and has no receipt handles."""
    settings = Settings.from_env(env)
    # One botocore session for every client: each client made from a session of its own would load the
    # partition and endpoint data again (about 40 ms per client at cold start).
    session = botocore.session.get_session()
    if not session.get_config_variable("data_path"):  # botocore's own data files only, as targets/limits.py reads them
        session.register_component("data_loader", data_loader())  # each service model parsed once per process
    claim_check = _claim_check(settings, session)
    target = target_for(settings, session)
    return Forwarder(
        settings,
        target,
        report,
        claim_check,
        _quarantine(settings, session, claim_check) if quarantine else NoQuarantine(),
        _visibility(settings, session, target.dedup_window_seconds) if visibility else NoVisibility(),
    )


def _claim_check(settings: Settings, session: Any) -> ClaimCheck | NoClaimCheck:
    if not settings.large_payload_bucket:
        return NoClaimCheck()
    return ClaimCheck(create_client("s3", settings.max_concurrency, session=session), settings.large_payload_bucket)


def _quarantine(
    settings: Settings, session: Any, claim_check: ClaimCheck | NoClaimCheck
) -> QuarantineQueue | NoQuarantine:
    if not settings.poison_queue_url:
        return NoQuarantine()
    sqs = create_client("sqs", settings.max_concurrency, session=session)
    # A record too large for a message is stored in the claim check's bucket, when there is one.
    return QuarantineQueue(sqs, settings.poison_queue_url, claim_check)


def _visibility(settings: Settings, session: Any, dedup_window: float | None) -> VisibilityBackoff | NoVisibility:
    if not settings.visibility_backoff_max_seconds:
        return NoVisibility()
    backoff = Backoff.within(
        settings.visibility_backoff_base_seconds, settings.visibility_backoff_max_seconds, dedup_window
    )
    # Made when a record is first reported for redelivery: most batches, and every stream batch, need none.
    return VisibilityBackoff(lambda: create_client("sqs", settings.max_concurrency, session=session), backoff,
                             settings.max_concurrency)


def _deadline(context: Any, margin_ms: int) -> float:
    """On time.monotonic()'s time line; math.inf without a Lambda context (no deadline)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return math.inf
    return time.monotonic() + (remaining() - margin_ms) / 1000
