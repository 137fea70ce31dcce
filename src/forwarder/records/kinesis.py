"""Kinesis records, with KPL aggregates read as one record per user record (all named by the aggregate)."""

from __future__ import annotations

import binascii
from base64 import b64decode
from typing import Any

from forwarder.records.record import EventError, SourceRecord, identifier, seconds, text

KPL_MAGIC = b"\xf3\x89\x9a\xc2"  # the first bytes of a KPL-aggregated Kinesis record


def kinesis_item_id(raw: dict, index: int) -> str:
    if not isinstance(raw.get("kinesis"), dict):
        raise EventError(f"record {index} has no 'kinesis' object")
    return identifier(raw["kinesis"], "sequenceNumber", index)


def kinesis_records(raw: dict, index: int) -> list[SourceRecord]:
    item_id = kinesis_item_id(raw, index)
    payload = raw["kinesis"]  # a dict (kinesis_item_id checked): no Powertools wrapper, whose package costs cold start
    common = {"item_id": item_id, "time": seconds(payload.get("approximateArrivalTimestamp")), "raw": raw}
    data, problem = _base64(payload.get("data"))
    if data is None:
        return [SourceRecord(body=None, problem=problem, **common)]
    if data.startswith(KPL_MAGIC):
        return _deaggregate(raw, common)
    return [SourceRecord(body=_text_or_bytes(data), partition_key=text(payload.get("partitionKey")), **common)]


def _deaggregate(raw: dict, common: dict) -> list[SourceRecord]:
    """One SourceRecord per user record; all share the aggregate's sequence number."""
    # Imported only when an aggregate arrives: protobuf costs cold-start time nobody else should pay.
    from aws_kinesis_agg.deaggregator import deaggregate_records

    try:
        users = deaggregate_records([raw])
    except Exception as error:  # noqa: BLE001 - a corrupt aggregate is this record's problem alone
        return [SourceRecord(body=None, problem=f"KPL aggregate could not be decoded: {error}", **common)]
    records = []
    for user in users:
        payload = user["kinesis"]
        data, problem = _base64(payload["data"])
        records.append(
            SourceRecord(
                body=None if data is None else _text_or_bytes(data),
                problem=problem,
                sub_sequence=payload.get("subSequenceNumber"),
                partition_key=text(payload.get("partitionKey")),
                **common,
            )
        )
    return records


def _base64(data: Any) -> tuple[bytes | None, str | None]:
    if isinstance(data, bytes):
        data = data.decode("ascii", "replace")
    if not isinstance(data, str):
        return None, "kinesis record has no base64 'data' string"
    try:
        return b64decode(data, validate=True), None
    except (binascii.Error, ValueError):
        return None, "kinesis data is not valid base64"


def _text_or_bytes(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data
