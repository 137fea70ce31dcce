"""`python -m forwarder put-raw-events`: PutRawEvents on a Custom Event Bus, for any number of entries.

    python -m forwarder put-raw-events --event-bus-arn arn:aws:events:...:event-busv2/orders/ID \\
        --entries file://events.json
    eventbridge-put-raw-events ...   (installed from the wheel)

The entries are a JSON list in the AWS CLI's shape of PutRawEventsRequestEntry; `Data` is base64 text, as
the AWS CLI v2 reads a blob (`--cli-binary-format base64`, the default), or the text itself sent as UTF-8
(`--cli-binary-format raw-in-base64-out`). `SystemMetadata.ContentType` may be left out: it is then
detected (library/raw_bulk.py). The command line behaves as put-events' does (cli.py, whose pieces it uses): the
same input forms read as strict UTF-8, one-line errors with exit 2 for what cannot be sent, range-checked
numbers, the region and credentials as the AWS CLI finds them (the region by default the bus's own), a quiet
end on a closed pipe, and SIGINT/SIGTERM stopping the sending with every result printed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import sys
from collections.abc import Sequence
from threading import Event
from typing import Any, BinaryIO, TextIO

from forwarder.command.cli import (
    EXIT_CLOSED_PIPE,
    EXIT_FAILED_ENTRIES,
    EXIT_USAGE,
    OneLineParser,
    add_sending_options,
    load_entries,
    print_results,
    stopped_by_signals,
)
from forwarder.config.settings import CUSTOM_BUS_PATTERN
from forwarder.library.aws_setup import SetupError, checked_session
from forwarder.version import version

NOT_BASE64 = object()  # an entry whose Data could not be read: it fails alone
SUMMARY = "Send entries to a Custom Event Bus (PutRawEvents): any bytes as Data, as many entries as you have."
EPILOG = """\
example:
  {prog} --event-bus-arn arn:aws:events:us-east-1:123456789012:event-busv2/orders/ID \\
      --entries file://events.json

entries (--entries), a JSON list of PutRawEventsRequestEntry ({{"Data": ..., "Metadata": {{...}},
"SystemMetadata": {{"ContentType": ..., "EventGroupId": ..., "DeduplicationId": ...}}}}), given as:
  file://PATH    a file (UTF-8)
  -              standard input (UTF-8)
  '[{{...}}]'      the JSON itself
Data is base64 text (--cli-binary-format base64, the default) or text sent as UTF-8 (raw-in-base64-out).

the region is --region, else the bus's own; the credentials and the endpoint are found as the AWS CLI finds
them: the profile (--profile, AWS_PROFILE); --endpoint-url or AWS_ENDPOINT_URL.

prints {{"FailedEntryCount": n, "Entries": [...]}}, one result per entry in input order. exit status:
  0    every entry confirmed (published, or deduplicated by the bus)
  1    an entry failed (its result says why)
  2    nothing sent: an option, the entries or the credentials cannot be used (one line says which)
  130  SIGINT (143 SIGTERM): sending stopped; results printed, entries left unconfirmed say "Interrupted"
  141  standard output was closed (| head): nothing more printed
"""


def main(argv: Sequence[str] | None = None, stdin: BinaryIO | None = None, stdout: TextIO | None = None) -> int:
    """`python -m forwarder put-raw-events ...`."""
    return _run(_parser("python -m forwarder put-raw-events").parse_args(argv), stdin, stdout)


def command(argv: Sequence[str] | None = None) -> int:
    """`eventbridge-put-raw-events ...`, the console script the wheel installs."""
    return _run(_parser("eventbridge-put-raw-events").parse_args(argv), None, None)


def _run(args: argparse.Namespace, stdin: BinaryIO | None, stdout: TextIO | None) -> int:
    from forwarder.library.raw_bulk import put_raw_events, raw_client  # after the arguments: --help stays quick

    stop = Event()
    with stopped_by_signals(stop) as received:
        try:
            entries = load_entries(args.entries, stdin or sys.stdin.buffer)
            session, region = checked_session(args.region or args.event_bus_arn.split(":")[3], args.profile)
        except (ValueError, SetupError) as error:
            print(f"put-raw-events: {error}", file=sys.stderr)
            return EXIT_USAGE
        overrides = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
        client = raw_client(args.max_concurrency, session, region_name=region, **overrides)
        registry = {"RegistryUri": args.schema_registry_uri} if args.schema_registry_uri else None
        readable = [_decoded(entry, args.cli_binary_format) for entry in entries]
        sent = iter(put_raw_events(
            [entry for entry in readable if entry is not NOT_BASE64], event_bus_arn=args.event_bus_arn,
            client=client, schema_registry=registry, max_request_bytes=args.max_request_bytes,
            max_concurrency=args.max_concurrency, max_attempts=args.max_attempts, timeout=args.timeout, stop=stop,
        ))
        results = [{"ErrorCode": "InvalidArgument", "ErrorMessage": "Data is not base64 text"}
                   if entry is NOT_BASE64 else next(sent) for entry in readable]
        if not print_results(results, stdout or sys.stdout):
            return EXIT_CLOSED_PIPE
    if received:
        return 128 + received[0]
    return EXIT_FAILED_ENTRIES if any("ErrorCode" in result for result in results) else 0


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


def _bus_arn(value: str) -> str:
    if not CUSTOM_BUS_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(f"not a Custom Event Bus ARN (arn:...:event-busv2/NAME/ID): {value!r}")
    return value


def _parser(prog: str) -> argparse.ArgumentParser:
    put = OneLineParser(prog=prog, description=SUMMARY, epilog=EPILOG.format(prog=prog),
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    put.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    put.add_argument("--entries", required=True, help="JSON list of entries, file://PATH, or - for stdin")
    put.add_argument("--event-bus-arn", required=True, type=_bus_arn, help="the Custom Event Bus")
    put.add_argument("--schema-registry-uri", help="SchemaRegistryConfiguration.RegistryUri of every request")
    put.add_argument("--cli-binary-format", choices=("base64", "raw-in-base64-out"), default="base64",
                     help="Data as base64 text (default), or text sent as its UTF-8")
    put.add_argument("--region", help="AWS region (default: the bus's)")
    put.add_argument("--profile", help="the named profile of the AWS config files (default: AWS_PROFILE)")
    put.add_argument("--endpoint-url", help="override the endpoint, as the AWS CLI's option does")
    return add_sending_options(put)
