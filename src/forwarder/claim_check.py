"""Claim check: a Detail too large for any PutEvents request goes to S3, and the entry points at it.

With LARGE_PAYLOAD_BUCKET set, such an entry's Detail becomes
`{"dataref": {"bucket": ..., "key": ..., "size": ..., "sha256": ...}}`, so consumers fetch the
payload when they need it. Keys are the payload's SHA-256: storing the same payload again (a
redelivery, say) writes the same object, so retries leave no litter behind.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from forwarder.batching import fits_alone
from forwarder.clients import bounded_by
from forwarder.entries import Entry, Rejected, entry_size

CLAIM_CHECK_FAILED = "ClaimCheckFailed"


class ClaimCheck:
    def __init__(self, client: Any, bucket: str, max_concurrency: int = 4):
        self._client = client
        self._bucket = bucket
        self._max_concurrency = max_concurrency

    def offload(self, items: list[Entry | Rejected], max_bytes: int, deadline: float | None) -> list[Entry | Rejected]:
        """Replace every entry too large to send with one that refers to its stored Detail."""
        large = [i for i, item in enumerate(items) if isinstance(item, Entry) and not fits_alone(item.size, max_bytes)]
        if not large:
            return items
        items = list(items)
        pool = ThreadPoolExecutor(max_workers=min(self._max_concurrency, len(large)), thread_name_prefix="claim")
        try:
            futures = {pool.submit(self._store, items[i], deadline): i for i in large}
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            wait(futures, timeout=timeout)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for future, index in futures.items():
            items[index] = self._result(future, items[index])
        return items

    def _store(self, entry: Entry, deadline: float | None) -> Entry:
        payload = entry.fields["Detail"].encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(payload).hexdigest()
        key = f"{digest}.json"
        with bounded_by(math.inf if deadline is None else deadline):
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=payload, ContentType="application/json", ChecksumAlgorithm="SHA256"
            )
        reference = {"dataref": {"bucket": self._bucket, "key": key, "size": len(payload), "sha256": digest}}
        fields = {**entry.fields, "Detail": json.dumps(reference, separators=(",", ":"))}
        return Entry(fields, entry_size(fields), entry.group)

    @staticmethod
    def _result(future: Any, entry: Entry) -> Entry | Rejected:
        if not future.done():
            return Rejected(CLAIM_CHECK_FAILED, "the payload was not stored before the deadline", entry.group)
        try:
            return future.result()
        except Exception as error:  # noqa: BLE001 - any failure to store leaves the record for redelivery
            return Rejected(CLAIM_CHECK_FAILED, f"storing the payload failed: {type(error).__name__}", entry.group)
