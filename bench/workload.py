"""SQS batches of records with ~500-byte JSON-object bodies, as Lambda's event source mapping delivers them."""

from __future__ import annotations

import json
import uuid

from forwarder_testing.events import sqs_record

BODY_BYTES = 500


def body(index: int, size: int = BODY_BYTES) -> str:
    """A JSON object of exactly `size` bytes (for size >= 200), different for every index."""
    value = {
        "orderId": f"order-{index:08d}",
        "customer": {"id": f"c-{index % 977:05d}", "tier": "gold" if index % 7 == 0 else "standard"},
        "items": [{"sku": f"sku-{(index * 31 + k) % 10_000:05d}", "qty": 1 + k, "price": 9.99 + k} for k in range(3)],
        "total": round(29.97 + index % 100, 2),
        "note": "",
    }
    text = json.dumps(value, separators=(",", ":"))
    value["note"] = "x" * max(0, size - len(text))
    return json.dumps(value, separators=(",", ":"))


def sqs_event(records: int, size: int = BODY_BYTES) -> dict:
    """A standard-queue batch; message ids are deterministic so runs are comparable."""
    return {
        "Records": [
            sqs_record(body(i, size), message_id=str(uuid.UUID(int=i + 1)), sent=1_763_800_000_000 + i)
            for i in range(records)
        ]
    }


def payload_bytes(event: dict) -> int:
    """The size of the invocation payload as Lambda would send it."""
    return len(json.dumps(event, separators=(",", ":")).encode())
