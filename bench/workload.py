"""SQS batches of records with ~100-byte JSON-object bodies, as Lambda's event source mapping delivers them.

Lambda caps an invocation's payload at 6 MB, event source mappings included: an SQS record's envelope (ids,
receipt handle, attributes, ARN) is about 500 bytes, so 10,000 records fit only with bodies of about 100
bytes (10,000 records of 500-byte bodies would be 9.96 MB, a batch Lambda never delivers).
"""

from __future__ import annotations

import json
import uuid

from forwarder_testing.events import sqs_record

BODY_BYTES = 100
LAMBDA_PAYLOAD_LIMIT = 6_000_000  # bytes; Lambda's 6 MB, read as the smaller decimal megabytes


def body(index: int, size: int = BODY_BYTES) -> str:
    """A JSON object of exactly `size` bytes (for size >= 100), different for every index."""
    value = {
        "orderId": f"o-{index:08d}",
        "customer": {"id": f"c-{index % 977:05d}", "tier": "gold" if index % 7 == 0 else "std"},
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
