"""Poison records -> an SQS quarantine queue, so they stop burning receives or stalling a shard.

The message body is `{"record": <the Lambda record as received>, "errorCode": ..., "errorMessage": ...}`:
everything needed to inspect the record, fix it and send it again.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from forwarder.clients import bounded_by
from forwarder.records import SourceRecord


class QuarantineQueue:
    def __init__(self, client: Any, queue_url: str):
        self._client = client
        self._queue_url = queue_url
        self._fifo = queue_url.endswith(".fifo")

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
