"""Lambda events in the exact shapes the SQS and Kinesis event source mappings deliver; what a response names."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable

REGION = "us-east-1"
ACCOUNT = "123456789012"
SENT = 1_763_800_000_000  # 2025-11-22, milliseconds, as SQS writes SentTimestamp


def sqs_record(
    body: str,
    *,
    queue: str = "source-queue",
    message_id: str | None = None,
    group: str | None = None,
    trace: str | None = None,
    sent: int = SENT,
    sequence: int = 0,
) -> dict:
    attributes = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": str(sent),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": str(sent + 5),
    }
    if trace:
        attributes["AWSTraceHeader"] = trace
    if group is not None:
        attributes.update(
            MessageGroupId=group,
            MessageDeduplicationId=hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest(),
            SequenceNumber=str(18849496460467696128 + sequence),
        )
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "MessageReceiptHandle",
        "body": body,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode("utf-8", "surrogatepass")).hexdigest(),  # noqa: S324 - SQS's own digest
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
        "awsRegion": REGION,
    }


def sqs_event(bodies: Iterable[str], **kwargs) -> dict:
    return {"Records": [sqs_record(body, **kwargs) for body in bodies]}


def fifo_event(messages: Iterable[tuple[str, str]], queue: str = "source-queue.fifo") -> dict:
    """(group, body) pairs, in the order the queue hands them out."""
    return {
        "Records": [sqs_record(body, queue=queue, group=group, sequence=i) for i, (group, body) in enumerate(messages)]
    }


def kinesis_record(
    data: bytes, *, sequence: int = 0, partition_key: str = "key", arrival: float = 1763800000.123
) -> dict:
    sequence_number = str(49590338271490256608559692538361571095921575989136588898 + sequence)
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000006:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/lambda-role",
        "awsRegion": REGION,
        "eventSourceARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/source-stream",
    }


def kinesis_event(payloads: Iterable[bytes]) -> dict:
    return {"Records": [kinesis_record(data, sequence=i) for i, data in enumerate(payloads)]}


def reported(response: dict) -> list[str]:
    """The records a partial batch response hands back to the source, in its order."""
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def item_ids(event: dict) -> list[str]:
    """What a partial batch response may name for each record of `event`: its messageId, or its stream's
    sequence number (Kinesis, DynamoDB Streams)."""
    ids = []
    for record in event["Records"]:
        if "kinesis" in record:
            ids.append(record["kinesis"]["sequenceNumber"])
        elif "dynamodb" in record:
            ids.append(record["dynamodb"]["SequenceNumber"])
        else:
            ids.append(record["messageId"])
    return ids
