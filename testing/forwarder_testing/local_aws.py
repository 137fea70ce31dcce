"""Local AWS: moto in server mode as a child process on 127.0.0.1 (a real HTTP endpoint for boto3), its
reset between tests, a tap that shows what reached a bus (``bus_tap.BusTap``), and SQS helpers in
Lambda's shapes.

The one place the suite, `make demo` and `make invoke` (tools/local_invoke/) get these from.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from forwarder_testing.bus_tap import BusTap


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server(port: int | None = None, host: str = "127.0.0.1", log: Path | None = None) -> Iterator[str]:
    """Start moto, wait until it answers, yield its URL, stop it. With `log`, its output goes there."""
    port = port or free_port()
    with open(log, "wb") if log else nullcontext(subprocess.DEVNULL) as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://{host}:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def reset(url: str) -> None:
    """Forget every resource, so tests do not see each other's."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 - loopback
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback URL we built


def _wait_until_up(url: str, process: subprocess.Popen, log: Path | None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with code {process.returncode}{_tail(log)}")
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()  # noqa: S310 - loopback
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not answer on {url} within {timeout} s{_tail(log)}")


def _tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    return ": " + log.read_text(errors="replace")[-2000:]


def tap_bus(clients: Any, bus_name: str, source: str) -> str:
    """A BusTap left open on `bus_name` (its queue is `<bus_name>-tap`); returns the queue's URL.

    `source` names the events the caller expects there; the rule copies every event, whatever its source.
    """
    return BusTap(clients("events"), clients("sqs"), bus_name, name=f"{bus_name}-tap").open().queue_url


def drain(sqs, queue_url: str, wait_seconds: int = 0) -> list[dict]:
    """Every message now in the queue, each deleted once read."""
    found: list[dict] = []
    while True:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds, AttributeNames=["All"]
        )
        messages = response.get("Messages", [])
        if not messages:
            return found
        found.extend(messages)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def lambda_sqs_record(message: dict, queue_arn: str, region: str = "us-east-1") -> dict:
    """An SQS ReceiveMessage message in the shape Lambda's SQS event source hands the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                # Lambda delivers binary values in base64, as JSON has no bytes
                "binaryValue": _base64(value.get("BinaryValue")),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _base64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode("ascii")


def queue_arn(sqs, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
