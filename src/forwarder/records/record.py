"""The record every reader returns, the error that refuses a whole event, and the readings they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class EventError(ValueError):
    """The invocation event is not a batch this function can read; the whole batch is retried."""


@dataclass(slots=True)
class SourceRecord:
    item_id: str  # what the partial batch response names: messageId, or the (aggregate's) sequence number
    body: str | bytes | None  # text, or bytes when Kinesis data is not UTF-8
    time: float | None = None  # epoch seconds; EventBridge stamps its own time when None
    trace_header: str | None = None
    group: str | None = None  # FIFO message group: records of one group are sent in order
    problem: str | None = None  # why this record cannot be forwarded at all
    raw: dict | None = None  # the record exactly as Lambda delivered it
    resources: tuple[str, ...] = ()  # ARNs the event is about (the SNS topic)
    sub_sequence: int | None = None  # position of a user record inside a KPL aggregate
    partition_key: str | None = None
    envelope: dict | None = None  # an unwrapped SNS notification, as parsed (for the record view)
    unread: bool = False  # the invocation's deadline came before it was read: reported for redelivery


def identifier(raw: dict, key: str, index: int) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        # Without it the record cannot be reported, and Lambda fails a response naming an empty id.
        raise EventError(f"record {index} has no {key}: it could not be reported if it failed")
    return value


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def epoch_millis(value: Any) -> float | None:
    number = seconds(value)
    return None if number is None else number / 1000


def seconds(value: Any) -> float | None:
    """A positive number below 1e13 (epoch seconds, or SQS's milliseconds), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond a double
        return None
    return number if 0 < number < 1e13 else None
