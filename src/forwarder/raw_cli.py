"""`python -m forwarder put-raw-events`: PutRawEvents on a Custom Event Bus, for any number of entries.

    python -m forwarder put-raw-events --event-bus-arn arn:aws:events:...:event-busv2/orders/ID \\
        --entries file://events.json

The entries are a JSON list in the AWS CLI's shape of PutRawEventsRequestEntry; `Data` is base64 text, as
the AWS CLI v2 reads a blob (`--cli-binary-format base64`, the default), or the text itself sent as UTF-8
(`--cli-binary-format raw-in-base64-out`). `SystemMetadata.ContentType` may be left out: it is then
detected (raw_bulk.py). It prints the AWS CLI's result shape in input order and exits 1 when any entry
failed; an entry the model refuses (or whose Data is not base64) fails alone, with InvalidArgument.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from forwarder.raw_bulk import put_raw_events
from forwarder.settings import DEFAULT_MAX_BYTES, DEFAULT_MAX_CONCURRENCY

EXIT_FAILED_ENTRIES = 1
EXIT_USAGE = 2
NOT_BASE64 = object()  # an entry whose Data could not be read: it fails alone


def main(argv: Sequence[str] | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    args = _parser().parse_args(argv)
    try:
        entries = _load(args.entries, stdin)
    except ValueError as error:
        print(f"put-raw-events: {error}", file=sys.stderr)
        return EXIT_USAGE
    client = None
    if args.region or args.endpoint_url:
        from forwarder.clients import create_client
        from forwarder.targets import PUT_EVENTS_RETRIES

        overrides = {k: v for k, v in (("region_name", args.region or args.event_bus_arn.split(":")[3]),
                                        ("endpoint_url", args.endpoint_url)) if v}
        client = create_client("eventbridgev2", args.max_concurrency, retries=PUT_EVENTS_RETRIES, **overrides)
    registry = {"RegistryUri": args.schema_registry_uri} if args.schema_registry_uri else None
    readable = [_decoded(entry, args.cli_binary_format) for entry in entries]
    sendable = [entry for entry in readable if entry is not NOT_BASE64]
    sent = iter(put_raw_events(sendable, event_bus_arn=args.event_bus_arn, client=client, schema_registry=registry,
                               max_request_bytes=args.max_request_bytes, max_concurrency=args.max_concurrency))
    results = [{"ErrorCode": "InvalidArgument", "ErrorMessage": "Data is not base64 text"}
               if entry is NOT_BASE64 else next(sent) for entry in readable]
    failed = sum("ErrorCode" in result for result in results)
    json.dump({"FailedEntryCount": failed, "Entries": results}, stdout, indent=2)
    stdout.write("\n")
    return EXIT_FAILED_ENTRIES if failed else 0


def _decoded(entry: Any, binary_format: str) -> Any:
    """Data as bytes; an entry that is not an object goes on as it is (it fails alone in raw_bulk)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("Data"), str):
        return entry
    if binary_format == "raw-in-base64-out":
        return {**entry, "Data": entry["Data"].encode("utf-8", "surrogatepass")}
    try:
        return {**entry, "Data": base64.b64decode(entry["Data"], validate=True)}
    except (binascii.Error, ValueError):
        return NOT_BASE64


def _load(value: str, stdin: TextIO) -> list[Any]:
    """Inline JSON, `file://path`, or `-` for standard input; always a JSON list (as put-events reads it)."""
    if value == "-":
        text = stdin.read()
    elif value.startswith("file://"):
        path = Path(value.removeprefix("file://")).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(f"cannot read {path}: {error.strerror}") from None
    else:
        text = value
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--entries is not valid JSON: {error}") from None
    if not isinstance(entries, list):
        raise ValueError("--entries must be a JSON list of entries")
    return entries


def _bus_arn(value: str) -> str:
    from forwarder.settings import CUSTOM_BUS_PATTERN

    if not CUSTOM_BUS_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(f"not a Custom Event Bus ARN (arn:...:event-busv2/NAME/ID): {value!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    put = argparse.ArgumentParser(prog="python -m forwarder put-raw-events", description=__doc__.split("\n")[0])
    put.add_argument("--entries", required=True, help="JSON list of entries, file://PATH, or - for stdin")
    put.add_argument("--event-bus-arn", required=True, type=_bus_arn, help="the Custom Event Bus")
    put.add_argument("--schema-registry-uri", help="SchemaRegistryConfiguration.RegistryUri of every request")
    put.add_argument("--cli-binary-format", choices=("base64", "raw-in-base64-out"), default="base64",
                     help="Data as base64 text (default), or text sent as its UTF-8")
    put.add_argument("--region", help="AWS region (default: the bus's)")
    put.add_argument("--endpoint-url", help="override the endpoint, as the AWS CLI's option does")
    put.add_argument("--max-concurrency", type=int, default=DEFAULT_MAX_CONCURRENCY, help="requests in flight")
    put.add_argument("--max-request-bytes", type=int, default=DEFAULT_MAX_BYTES, help="request size limit")
    return put
