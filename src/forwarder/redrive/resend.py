"""The two ways a parked record is sent again: `Pipeline`, the function's own pipeline (a `Forwarder` built
from the environment without its quarantine and visibility stages, whose outcomes it reads back), and
`Requeue`, a move to a queue (requeue.py). Each says per record: None when done, else why not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from forwarder.core.outcomes import Publication
from forwarder.function.forwarder import Forwarder, build_forwarder
from forwarder.records.event import parse_event
from forwarder.records.record import EventError, SourceRecord
from forwarder.redrive.requeue import NotMovable, send_message_params


class LeftOut:
    """What `Pipeline.forward` says of a record all of whose entries EVENT_FILTER left out: done, not sent."""


LEFT_OUT = LeftOut()
Result = str | LeftOut | None  # None: forwarded; a string: why it was not


class _Capture:
    """The Forwarder's reporter for a redrive: it keeps each record's outcome instead of logging metrics."""

    def __init__(self) -> None:
        self.records: list[SourceRecord] = []
        self.publication = Publication([])

    def rejected(self, error: Exception) -> None:
        pass  # handle() raises it as well

    def published(self, source: str, records: Any, publication: Publication, *_: Any) -> None:
        self.records, self.publication = list(records), publication


class Pipeline:
    """The function's pipeline, for Lambda records in any number: `forward(raws)` -> per record, None when
    every entry it gave was confirmed (some maybe filtered), LEFT_OUT when all were filtered, else the reason
    it was not forwarded."""

    def __init__(self, forwarder: Forwarder, capture: _Capture):
        self._forwarder, self._capture = forwarder, capture

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Pipeline:
        capture = _Capture()
        # No quarantine (a record that fails again stays where it is) and no visibility calls (no receipt).
        return cls(build_forwarder(env, capture, quarantine=False, visibility=False), capture)  # type: ignore[arg-type]

    def forward(self, raws: list[dict]) -> list[Result]:
        reasons: list[Result] = [None] * len(raws)
        readable: dict[str, list[int]] = {}
        for index, raw in enumerate(raws):
            try:  # one by one first, so that an unreadable record fails alone, not its whole batch
                source, _ = parse_event({"Records": [raw]}, self._forwarder.settings.sns_unwrap)
                readable.setdefault(source, []).append(index)
            except EventError as error:
                reasons[index] = f"UnreadableRecord: {error}"
        for indices in readable.values():  # one batch per event source, as Lambda would deliver them
            for index, reason in zip(indices, self._forward_batch([raws[i] for i in indices]), strict=True):
                reasons[index] = reason
        return reasons

    def _forward_batch(self, raws: list[dict]) -> list[Result]:
        self._forwarder.handle({"Records": raws}, None)  # no context: no deadline
        capture = self._capture
        reasons: dict[int, str] = {}
        sent: set[int] = set()  # records of which some entry was not filtered
        for record, outcome in zip(capture.records, capture.publication.outcomes, strict=True):
            key = id(record.raw)
            if not outcome.filtered:
                sent.add(key)
            if not outcome.settled and key not in reasons:
                reasons[key] = f"{outcome.error_code or 'Unknown'}: {outcome.error_message or ''}".strip()
        return [reasons.get(id(raw)) if id(raw) in sent else LEFT_OUT for raw in raws]


class Requeue:
    """Quarantined SQS records -> a queue (requeue.py), each confirmed by SQS's answer."""

    def __init__(self, sqs: Any, queue_url: str):
        self._sqs, self.queue_url = sqs, queue_url

    def move(self, record: dict) -> str | None:
        try:
            self._sqs.send_message(**send_message_params(record, self.queue_url))
        except NotMovable as error:
            return f"NotMovable: {error}"
        except (ClientError, BotoCoreError) as error:
            return reason_of(error)
        return None


def reason_of(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Unknown')}: {details.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"
