"""SourceRecord -> the record view: the one value every shaping expression (entries/shaping.py) is evaluated over.

The view is the record exactly as Lambda delivered it, with two keys added or replaced:
- `body`: the payload, parsed where it is JSON (the SQS body, or the SNS notification's Message; Kinesis
  data, of each user record inside a KPL aggregate; the DynamoDB change as plain JSON, as Detail shows it).
  Text that is not JSON stays text; Kinesis data that is not UTF-8 is its base64 text. JSON that EventBridge
  refuses (an integer beyond int64, NaN) is still parsed, so that a filter never drops it for that.
- `sns`: for an SNS notification delivered through SQS, the envelope without its Message (so
  `sns.MessageAttributes`, `sns.TopicArn`, `sns.Subject`, ...).
For Kinesis, `kinesis.data` (base64 of the whole record) is left out, since `body` is the payload, and
inside a KPL aggregate `kinesis.partitionKey` and `kinesis.subSequenceNumber` are the user record's.

Nothing is copied but the top level (and Kinesis' `kinesis` object, the SNS envelope's top level): expressions
only read the view. It is built only when some expression is set, so a forwarder without one never pays for
it. docs/records.md shows the view for each source.
"""

from __future__ import annotations

from base64 import b64encode
from typing import Any

from forwarder.entries.json_entries import parse_json
from forwarder.records.record import SourceRecord


def record_view(record: SourceRecord) -> dict[str, Any]:
    raw = record.raw if isinstance(record.raw, dict) else {}
    view = dict(raw)
    view["body"] = payload(record.body)
    if record.envelope is not None:  # copied here, so that a forwarder without expressions never copies it
        view["sns"] = {key: value for key, value in record.envelope.items() if key != "Message"}
    kinesis = raw.get("kinesis")
    if isinstance(kinesis, dict):
        view["kinesis"] = _kinesis(kinesis, record)
    return view


def payload(body: str | bytes | None) -> Any:
    """The body as a value: parsed where a JSON reader takes it (also what EventBridge would refuse in a Detail,
    which is decided apart, per record: entries.parsed_detail, shaping), else the text itself."""
    if isinstance(body, bytes):
        return b64encode(body).decode("ascii")
    if body is None:
        return None
    text = body[1:] if body.startswith("\ufeff") else body
    try:
        return parse_json(text)
    except (ValueError, RecursionError):
        return body


def _kinesis(kinesis: dict, record: SourceRecord) -> dict[str, Any]:
    shown = {key: value for key, value in kinesis.items() if key != "data"}
    if record.sub_sequence is not None:  # a KPL user record: its own key and position
        shown["partitionKey"] = record.partition_key
        shown["subSequenceNumber"] = record.sub_sequence
    return shown
