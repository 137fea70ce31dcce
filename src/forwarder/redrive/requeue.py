"""A quarantined SQS record -> a SendMessage request that puts it back on a queue, as it was first sent.

The original body, its message attributes and its trace header (`AWSTraceHeader`); on a FIFO queue its
message group and a deduplication id of the redrive's own. SQS drops a message whose deduplication id it
saw in the last 5 minutes, so the original id could make the move vanish; the redrive's id is a hash of
the original message id, the same however often the record is moved: a record quarantined twice (the
ambiguous case stages/quarantine.py describes) and moved twice within 5 minutes arrives once.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

REDRIVE_ID_PREFIX = "forwarder-redrive:"


class NotMovable(ValueError):
    """The quarantined record cannot go back to a queue (not an SQS record, or no body)."""


def redrive_deduplication_id(message_id: str) -> str:
    return hashlib.sha256((REDRIVE_ID_PREFIX + message_id).encode()).hexdigest()


def send_message_params(record: dict, queue_url: str) -> dict[str, Any]:
    """Raises NotMovable for a record that is not an SQS message the function received."""
    if record.get("eventSource") != "aws:sqs":
        raise NotMovable(f"a {record.get('eventSource')!r} record cannot be moved to a queue; forward it instead")
    body, message_id = record.get("body"), record.get("messageId")
    if not isinstance(body, str) or not body or not isinstance(message_id, str):
        raise NotMovable("the record has no body or no messageId")
    attributes = record.get("attributes") if isinstance(record.get("attributes"), dict) else {}
    params: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": body}
    message_attributes = _message_attributes(record.get("messageAttributes"))
    if message_attributes:
        params["MessageAttributes"] = message_attributes
    trace = attributes.get("AWSTraceHeader")
    if isinstance(trace, str) and trace:
        params["MessageSystemAttributes"] = {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    if queue_url.endswith(".fifo"):
        group = attributes.get("MessageGroupId")
        params["MessageGroupId"] = group if isinstance(group, str) and group else "redrive"
        params["MessageDeduplicationId"] = redrive_deduplication_id(message_id)
    return params


def _message_attributes(attributes: Any) -> dict[str, dict]:
    """Lambda's camel-case attributes (binary values in base64) -> SendMessage's."""
    if not isinstance(attributes, dict):
        return {}
    converted: dict[str, dict] = {}
    for name, value in attributes.items():
        if not isinstance(value, dict) or not isinstance(value.get("dataType"), str):
            raise NotMovable(f"message attribute {name!r} is malformed")
        if value.get("binaryValue") is not None:
            try:
                binary = base64.b64decode(value["binaryValue"], validate=True)
            except (TypeError, ValueError):
                raise NotMovable(f"message attribute {name!r} has a binary value that is not base64") from None
            converted[name] = {"DataType": value["dataType"], "BinaryValue": binary}
        else:
            converted[name] = {"DataType": value["dataType"], "StringValue": value.get("stringValue")}
    return converted
