"""Poison records -> an SQS quarantine queue, so they stop burning receives or stalling a shard.

The message body is `{"record": <the Lambda record as received>, "errorCode": ..., "errorMessage": ...}`:
everything needed to inspect the record, fix it and send it again. A message must fit SQS's 1 MiB, and a
record can be larger (an SQS body of 1 MiB, a Kinesis record of 1 MiB in base64): such a record (its JSON, as
`record` would hold it) goes to the claim check's bucket (LARGE_PAYLOAD_BUCKET) under `quarantine/<sha256>.json`,
and the message says where: `{"recordRef": {"bucket", "key", "size", "sha256"}, "itemId", "eventSourceARN",
"errorCode", "errorMessage"}`. Without a bucket it is left out, `recordOmitted: {"size", "sha256"}` in place of
`recordRef`: the message still says which record, why, and what it was, for the source or the producer to
send again. The error code and message are cut to MAX_ERROR_CHARS (they may come from a peer).

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

from forwarder.core.protocols import Quarantine
from forwarder.net.clients import bounded_by, close_connections
from forwarder.records.record import SourceRecord
from forwarder.stages.claim_check import ClaimCheck, NoClaimCheck

MAX_MESSAGE_BYTES = 1024 * 1024  # SQS's largest message (its body, as we send no message attributes)
MAX_ERROR_CHARS = 4096  # of errorCode and errorMessage each: escaped, a few dozen KiB at most
MAX_ARN_CHARS = 2048
PAYLOAD_PREFIX = "quarantine/"


class QuarantineQueue:
    def __init__(self, client: Any, queue_url: str, payloads: ClaimCheck | NoClaimCheck | None = None):
        """`payloads`: where a record too large for a message is stored (the claim check's bucket), if anywhere."""
        self._client = client
        self._queue_url = queue_url
        self._fifo = queue_url.endswith(".fifo")
        self._payloads = payloads or NoClaimCheck()

    def for_batch(self, records: list[SourceRecord]) -> Quarantine:
        """The publisher's `quarantine` for one batch: item `index` is `records[index]`."""

        def move_aside(index: int, code: str, message: str, deadline: float) -> None:
            self.send(records[index], code, message, deadline)

        return move_aside

    def send(self, record: SourceRecord, code: str, message: str, deadline: float = math.inf) -> None:
        """Raises if SQS (or S3, for a record stored aside) did not take it; the caller then reports the record."""
        body = self.message(record, code, message, deadline)
        params: dict[str, Any] = {"QueueUrl": self._queue_url, "MessageBody": body}
        if self._fifo:
            params["MessageGroupId"] = record.group or "quarantine"
            params["MessageDeduplicationId"] = hashlib.sha256(record.item_id.encode()).hexdigest()
        with bounded_by(deadline):
            self._client.send_message(**params)

    def message(self, record: SourceRecord, code: str, message: str, deadline: float = math.inf) -> str:
        """The message body: the record itself when it fits SQS's limit, else where it went (or its digest)."""
        error = {"errorCode": _clip(code), "errorMessage": _clip(message)}
        # ensure_ascii: control characters and lone surrogates become escapes SQS accepts, and length is bytes.
        record_json = json.dumps(record.raw)
        body = f'{{"record": {record_json}, {json.dumps(error)[1:]}'
        if len(body) <= MAX_MESSAGE_BYTES:
            return body
        payload = record_json.encode("ascii")
        stored = self._payloads.store(payload, deadline, PAYLOAD_PREFIX)
        about = {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
        source_arn = (record.raw or {}).get("eventSourceARN")
        return json.dumps({
            **({"recordRef": stored} if stored else {"recordOmitted": about}),
            "itemId": _clip(record.item_id, MAX_ARN_CHARS),
            "eventSourceARN": _clip(source_arn, MAX_ARN_CHARS) if isinstance(source_arn, str) else None,
            **error,
        })

    def close_connections(self) -> None:
        close_connections(self._client)


def _clip(text: str | None, limit: int = MAX_ERROR_CHARS) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


class NoQuarantine:
    """No quarantine queue: the publisher is given none, and reports poison records for redelivery."""

    def for_batch(self, records: list[SourceRecord]) -> None:
        return None

    def close_connections(self) -> None:
        pass  # it has none
