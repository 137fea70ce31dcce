"""Claim check: a Detail too large for any PutEvents request goes to S3, and the entry points at it.

With LARGE_PAYLOAD_BUCKET set, such an entry's Detail becomes
`{"dataref": {"bucket": ..., "key": ..., "size": ..., "sha256": ...}}`, so consumers fetch the
payload when they need it. Keys are the payload's SHA-256: storing the same payload again (a
redelivery, say) writes the same object, so retries leave no litter behind. Without a bucket the
forwarder holds a `NoClaimCheck`, which leaves every entry as it is (one too large fails alone).

A raw entry (EVENT_PAYLOAD=raw, entries/raw_entries.py) is stored the same way, its Data as it is under the key
`<sha256>.bin` with its own ContentType; the entry's Data becomes the same reference, with the original
content type in it (`"contentType"`), and its ContentType `application/vnd.forwarder.dataref+json`, so that a
consumer tells a reference from a payload by its content type alone.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from forwarder.core.items import Entry, Pending, Rejected
from forwarder.core.sizes import utf8_length
from forwarder.net.clients import bounded_by, close_connections
from forwarder.publish.batching import fits_alone

CLAIM_CHECK_FAILED = "ClaimCheckFailed"
REFERENCE_CONTENT_TYPE = "application/vnd.forwarder.dataref+json"  # a raw entry whose Data is in S3
TASK = "storing the payload in S3"


class ClaimCheck:
    def __init__(self, client: Any, bucket: str, max_concurrency: int = 4):
        self._client = client
        self._bucket = bucket
        self._max_concurrency = max_concurrency

    def offload(
        self, items: list[Entry | Rejected], max_bytes: int, deadline: float | None
    ) -> list[Entry | Rejected | Pending]:
        """Start storing every entry too large to send; each becomes a Pending for the publisher.

        Returns at once: the publisher sends the other records while the uploads run, and admits each
        large one (an entry that refers to its stored Detail) when its upload ends, so a slow S3 holds
        back nothing but its record's FIFO group.
        """
        large = [i for i, item in enumerate(items) if isinstance(item, Entry) and not fits_alone(item.size, max_bytes)]
        if not large:
            return items
        limit = math.inf if deadline is None else deadline
        pool = ThreadPoolExecutor(max_workers=min(self._max_concurrency, len(large)), thread_name_prefix="claim")
        pending: list[Entry | Rejected | Pending] = list(items)
        for index in large:
            entry = items[index]
            pending[index] = Pending(pool.submit(self._store, entry, limit), entry.group, CLAIM_CHECK_FAILED, TASK)
        pool.shutdown(wait=False)  # the uploads go on; each thread ends with its upload (bounded by the deadline)
        return pending

    def _store(self, entry: Entry, deadline: float) -> Entry:
        if time.monotonic() >= deadline:  # queued behind other uploads until the deadline: not worth starting
            raise TimeoutError("the deadline came before the upload could start")
        if "Data" in entry.fields:
            return self._store_raw(entry, deadline)
        reference = {"dataref": self.store(entry.fields["Detail"].encode("utf-8", "surrogatepass"), deadline)}
        detail = json.dumps(reference, separators=(",", ":"))
        # Only the Detail changed: the size as the target counted it, with the new Detail's bytes instead.
        size = entry.size - utf8_length(entry.fields["Detail"]) + utf8_length(detail)
        return Entry({**entry.fields, "Detail": detail}, size, entry.group)

    def _store_raw(self, entry: Entry, deadline: float) -> Entry:
        payload, system = bytes(entry.fields["Data"]), entry.fields["SystemMetadata"]
        stored = self.store(payload, deadline, content_type=system["ContentType"], suffix=".bin")
        data = json.dumps({"dataref": {**stored, "contentType": system["ContentType"]}}, separators=(",", ":")).encode()
        # Only Data and ContentType changed: the size as the target counted it, with their new bytes instead.
        size = (entry.size - len(payload) + len(data)
                - utf8_length(system["ContentType"]) + utf8_length(REFERENCE_CONTENT_TYPE))
        fields = {**entry.fields, "Data": data, "SystemMetadata": {**system, "ContentType": REFERENCE_CONTENT_TYPE}}
        return Entry(fields, size, entry.group)

    def store(
        self, payload: bytes, deadline: float, prefix: str = "", *,
        content_type: str = "application/json", suffix: str = ".json",
    ) -> dict[str, Any]:
        """Put `payload` in the bucket, named by its SHA-256; return where it is, its size and digest.
        Raises if S3 did not take it by `deadline`."""
        digest = hashlib.sha256(payload).hexdigest()
        key = f"{prefix}{digest}{suffix}"
        with bounded_by(deadline):
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=payload, ContentType=content_type, ChecksumAlgorithm="SHA256"
            )
        return {"bucket": self._bucket, "key": key, "size": len(payload), "sha256": digest}

    def close_connections(self) -> None:
        close_connections(self._client)


class NoClaimCheck:
    """The claim check switched off: every entry goes on as it is (the publisher fails one too large alone)."""

    def offload(
        self, items: list[Entry | Rejected], max_bytes: int, deadline: float | None
    ) -> list[Entry | Rejected | Pending]:
        return items

    def store(self, payload: bytes, deadline: float, prefix: str = "") -> None:
        return None  # no bucket: nothing is stored

    def close_connections(self) -> None:
        pass  # it has none
