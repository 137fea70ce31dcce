"""Poison records -> an SQS quarantine queue, so they stop burning receives or stalling a shard.

The message body is `{"record": <the Lambda record as received>, "errorCode": ..., "errorMessage": ...}`:
everything needed to inspect the record, fix it and send it again.

A send runs under the invocation's deadline (clients.bounded_by): its request is cut there and never
started after it, so a record the publisher reports for redelivery is not put in the queue a moment
later by a send still in flight. One case stays ambiguous, as for any request: SQS took the message
but its answer was lost (a reset, or the deadline cut the read). The record is then reported and
quarantined; on redelivery it fails the same way and is sent again. A FIFO quarantine queue drops
that second copy when it comes within SQS's 5-minute deduplication window (the deduplication id is a
hash of the record's own id: its SQS messageId, or Kinesis or DynamoDB sequence number), that is when
the source redelivers within 5 minutes (an SQS visibility timeout under 5 minutes, a Kinesis retry);
otherwise, and on a standard queue, the queue holds two copies that say the same.

Without a quarantine queue the forwarder holds a `NoQuarantine`: poison records are reported like any other.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from forwarder.clients import bounded_by, close_connections
from forwarder.publisher import Quarantine
from forwarder.records import SourceRecord


class QuarantineQueue:
    def __init__(self, client: Any, queue_url: str):
        self._client = client
        self._queue_url = queue_url
        self._fifo = queue_url.endswith(".fifo")

    def for_batch(self, records: list[SourceRecord]) -> Quarantine:
        """The publisher's `quarantine` for one batch: item `index` is `records[index]`."""

        def move_aside(index: int, code: str, message: str, deadline: float) -> None:
            self.send(records[index], code, message, deadline)

        return move_aside

    def send(self, record: SourceRecord, code: str, message: str, deadline: float = math.inf) -> None:
        """Raises if SQS did not take the message; the caller then reports the record instead."""
        # ensure_ascii: control characters and lone surrogates become escapes SQS accepts.
        body = json.dumps({"record": record.raw, "errorCode": code, "errorMessage": message})
        params: dict[str, Any] = {"QueueUrl": self._queue_url, "MessageBody": body}
        if self._fifo:
            params["MessageGroupId"] = record.group or "quarantine"
            params["MessageDeduplicationId"] = hashlib.sha256(record.item_id.encode()).hexdigest()
        with bounded_by(deadline):
            self._client.send_message(**params)

    def close_connections(self) -> None:
        close_connections(self._client)


class NoQuarantine:
    """No quarantine queue: the publisher is given none, and reports poison records for redelivery."""

    def for_batch(self, records: list[SourceRecord]) -> None:
        return None

    def close_connections(self) -> None:
        pass  # it has none
