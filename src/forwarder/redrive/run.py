"""Parked records -> back on their way: the quarantine queue and the Kinesis/DynamoDB on-failure queue, read
by `python -m forwarder redrive` (command.py), one batch of messages at a time.

Each message is read (parked.py) and, by what it holds:
- a quarantined record is forwarded through the function's own pipeline (resend.py's `Pipeline`: the
  `Forwarder` built from the same environment variables, so a record quarantined by a shaping mistake goes
  out shaped by the corrected settings), or with a `Requeue` moved back to a queue (requeue.py);
- an on-failure record's stream range is read again (stream_range.py) and its records forwarded; what the
  stream no longer holds is counted as expired.

A message is deleted only once all it holds is confirmed (by the bus, or by the queue it was moved to), or,
for a range, forwarded or found expired. A record that fails again stays where it was: its message is made
visible again when the run ends (so the run does not read it twice) and its new reason is in the report.
Stopping (SIGINT) is checked between messages: what was sent is deleted first, what was not is made visible.
At least once, never lost: a message whose deletion fails is sent again by the next run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from forwarder.net.clients import create_client
from forwarder.redrive.parked import Quarantined, StreamRange, Unrecognised, parse_parked
from forwarder.redrive.resend import LEFT_OUT, Pipeline, Requeue, Result, reason_of
from forwarder.redrive.stream_range import read_range

SQS_BATCH = 10  # messages per ReceiveMessage / DeleteMessageBatch / ChangeMessageVisibilityBatch
NEVER = "never"  # a rate of records per second that is not limited


@dataclass(slots=True)
class Tally:
    """What a run did, for its summary; `failures` are the report lines of what was not done."""

    messages: int = 0
    forwarded: int = 0  # records confirmed by the bus
    filtered: int = 0  # records EVENT_FILTER now leaves out: done, as in the function
    moved: int = 0  # records confirmed by the target queue
    failed: int = 0  # records that failed again (their messages stay)
    expired: int = 0  # records of a range the stream no longer holds
    unrecognised: int = 0  # messages of neither shape (left in place)
    deleted: int = 0
    left: int = 0
    interrupted: bool = False
    failures: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Everything read was done: no record failed again or expired, no message was left unrecognised or
        could not be deleted. (A dry run leaves every message, and is complete when it found nothing wrong.)"""
        return not (self.failures or self.expired or self.interrupted)

    def line(self) -> str:
        return (
            f"messages={self.messages} forwarded={self.forwarded} filtered={self.filtered} moved={self.moved} "
            f"failed={self.failed} "
            f"expired={self.expired} unrecognised={self.unrecognised} deleted={self.deleted} left={self.left}"
        )


class Pacer:
    """At most `rate` records per second over the run (None: no limit); a wait ends early on `stop`."""

    def __init__(self, rate: float | None, stop: threading.Event, clock: Callable[[], float] = time.monotonic):
        self._interval = 0.0 if rate is None else 1 / rate
        self._stop, self._clock = stop, clock
        self._next = clock()

    def take(self, records: int) -> None:
        delay = self._next - self._clock()
        if delay > 0:
            self._stop.wait(delay)
        self._next = max(self._next, self._clock()) + records * self._interval


@dataclass(slots=True)
class _Held:
    """A received message, kept invisible until it is deleted or the run ends."""

    message_id: str
    receipt: str
    done: bool = False


class Redrive:
    """One run over one queue. `pipeline` forwards, `requeue` (when given) moves quarantined records instead;
    `stream_client(service, region)` makes the Kinesis or DynamoDB Streams client a range needs."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        pipeline: Pipeline | None,
        requeue: Requeue | None,
        stream_client: Callable[[str, str], Any],
        *,
        pacer: Pacer,
        stop: threading.Event,
        dry_run: bool = False,
        max_messages: int | None = None,
        wait_seconds: int = 2,
        visibility_timeout: int = 900,
        plan: TextIO | None = None,
        progress: TextIO | None = None,
    ):
        self._sqs, self._queue_url = sqs, queue_url
        self._pipeline, self._requeue, self._stream_client = pipeline, requeue, stream_client
        self._pacer, self._stop, self._dry_run = pacer, stop, dry_run
        self._max, self._wait, self._visibility = max_messages, wait_seconds, visibility_timeout
        self._plan, self._progress = plan, progress
        self._held: dict[str, _Held] = {}
        self.tally = Tally()

    def run(self) -> Tally:
        try:
            while not self._stop.is_set():
                messages = self._receive()
                if not messages:
                    break
                self._handle(messages)
                self._show_progress()
        finally:
            self.tally.interrupted = self._stop.is_set()
            self._release()
            if self._progress:
                self._progress.write("\n")
        return self.tally

    def _receive(self) -> list[dict]:
        wanted = SQS_BATCH if self._max is None else min(SQS_BATCH, self._max - self.tally.messages)
        if wanted <= 0:
            return []
        answer = self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=wanted,
            WaitTimeSeconds=self._wait, VisibilityTimeout=self._visibility,
        )
        fresh = []
        for message in answer.get("Messages", []):
            held = self._held.get(message["MessageId"])
            if held is None:
                self._held[message["MessageId"]] = _Held(message["MessageId"], message["ReceiptHandle"])
                fresh.append(message)
            elif not held.done:  # seen already in this run (its visibility ran out): the newest handle counts
                held.receipt = message["ReceiptHandle"]
        if answer.get("Messages") and not fresh:
            return []  # the queue came round to what this run already read
        return fresh

    def _handle(self, messages: list[dict]) -> None:
        self.tally.messages += len(messages)
        parked = [(message, parse_parked(message.get("Body", ""))) for message in messages]
        quarantined = [(m, p) for m, p in parked if isinstance(p, Quarantined)]
        done: list[str] = []
        if quarantined and not self._stop.is_set():
            done += self._quarantined(quarantined)
        for message, item in parked:
            if self._stop.is_set():
                break
            if isinstance(item, StreamRange):
                done += self._range(message, item)
            elif isinstance(item, Unrecognised):
                self.tally.unrecognised += 1
                self._fail(message, f"left in place: {item.reason}", records=0)
        if not self._dry_run:
            self._delete(done)

    def _quarantined(self, parked: list[tuple[dict, Quarantined]]) -> list[str]:
        records = [item.record for _, item in parked]
        if self._dry_run:
            verb = "move" if self._requeue else "forward"
            for message, item in parked:
                self._say(f"would {verb} the record of message {message['MessageId']} (quarantined: {item.error_code})")
            return []
        self._pacer.take(len(records))
        if self._stop.is_set():  # stopped while waiting for the rate: nothing sent, the messages are released
            return []
        if self._requeue is not None:
            reasons = [self._requeue.move(record) for record in records]
        else:
            reasons = self._forward(records)
        done = []
        for (message, _), reason in zip(parked, reasons, strict=True):
            if isinstance(reason, str):
                self._fail(message, reason)
                continue
            done.append(message["MessageId"])
            if reason is LEFT_OUT:
                self.tally.filtered += 1
            elif self._requeue is not None:
                self.tally.moved += 1
            else:
                self.tally.forwarded += 1
        return done

    def _range(self, message: dict, span: StreamRange) -> list[str]:
        if self._requeue is not None:
            self._fail(message, "NotMovable: an on-failure range is forwarded, not moved (run without --to-queue)")
            return []
        service = "kinesis" if span.kind == "KinesisBatchInfo" else "dynamodbstreams"
        try:
            read = read_range(span, self._stream_client(service, span.region))
        except (ClientError, BotoCoreError) as error:
            self._fail(message, f"range not read: {reason_of(error)}", records=span.size)
            return []
        where = f"{span.shard_id} {span.start}..{span.end}"
        if read.expired:
            self._say(f"message {message['MessageId']}: {read.expired} record(s) of {where} expired ({read.note})")
        if self._dry_run:
            self._say(f"would forward {len(read.records)} record(s) of {where} (message {message['MessageId']})")
            return []
        self._pacer.take(len(read.records))
        if self._stop.is_set():
            return []
        reasons = self._forward(read.records)
        failed = [reason for reason in reasons if isinstance(reason, str)]
        self.tally.filtered += sum(reason is LEFT_OUT for reason in reasons)
        self.tally.forwarded += sum(reason is None for reason in reasons)
        if failed:
            self._fail(message, f"{len(failed)} record(s) of {where} failed again, first: {failed[0]}", len(failed))
            return []
        self.tally.expired += read.expired
        return [message["MessageId"]]

    def _forward(self, records: list[dict]) -> list[Result]:
        assert self._pipeline is not None  # noqa: S101 - a Redrive without requeue is made with a pipeline
        try:
            return self._pipeline.forward(records)
        except (ClientError, BotoCoreError) as error:  # the stages before the publisher (the claim check)
            return [reason_of(error)] * len(records)

    def _fail(self, message: dict, reason: str, records: int = 1) -> None:
        self.tally.failed += records
        self.tally.failures.append(f"message {message['MessageId']}: {reason}")

    def _delete(self, message_ids: Iterable[str]) -> None:
        held = [self._held[message_id] for message_id in message_ids]
        for chunk in _chunks(held):
            entries = [{"Id": str(i), "ReceiptHandle": h.receipt} for i, h in enumerate(chunk)]
            try:
                answer = self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                answer = {"Failed": [{"Id": e["Id"], "Message": reason_of(error)} for e in entries]}
            failed = {entry["Id"]: entry.get("Message", entry.get("Code")) for entry in answer.get("Failed", [])}
            for i, item in enumerate(chunk):
                if str(i) in failed:  # its records went out and will go again next run: at least once
                    self.tally.failures.append(f"message {item.message_id}: sent, but not deleted: {failed[str(i)]}")
                else:
                    item.done = True
                    self.tally.deleted += 1

    def _release(self) -> None:
        """Make every message still held visible again, so that the next run (or the next reader) has it."""
        left = [held for held in self._held.values() if not held.done]
        self.tally.left = len(left)
        for chunk in _chunks(left):
            entries = [{"Id": str(i), "ReceiptHandle": h.receipt, "VisibilityTimeout": 0} for i, h in enumerate(chunk)]
            try:
                self._sqs.change_message_visibility_batch(QueueUrl=self._queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:  # they come back when their visibility timeout ends
                self.tally.failures.append(f"{len(chunk)} message(s) not made visible again: {reason_of(error)}")

    def _say(self, line: str) -> None:
        if self._plan:
            self._plan.write(line + "\n")

    def _show_progress(self) -> None:
        if self._progress:
            self._progress.write(f"\rredrive: {self.tally.line()}")
            self._progress.flush()


def _chunks(items: list[_Held]) -> Iterable[list[_Held]]:
    return (items[start : start + SQS_BATCH] for start in range(0, len(items), SQS_BATCH))


def stream_clients(max_concurrency: int) -> Callable[[str, str], Any]:
    """Kinesis and DynamoDB Streams clients made at first need, one per service and region."""
    made: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        if (service, region) not in made:
            made[service, region] = create_client(service, max_concurrency, region_name=region)
        return made[service, region]

    return client
