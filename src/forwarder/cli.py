"""`python -m forwarder put-events`: the AWS CLI's `aws events put-events`, for any number of entries.

    python -m forwarder put-events --entries file://events.json --event-bus-name orders
    eventbridge-put-events --entries file://events.json --event-bus-name orders   (installed from the wheel)

It takes the AWS CLI's entries format (a JSON list; `Detail` a string or an object; `Time` in any
form of the AWS CLI's Timestamp type, read as the AWS CLI reads it: epoch seconds as a number or a
string, ISO 8601 / RFC 3339 in any case), prints the AWS CLI's result shape in input order, and
exits 1 when any entry failed. An entry the AWS CLI would refuse fails alone, with InvalidArgument.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from forwarder.bulk import put_events
from forwarder.clients import create_client
from forwarder.settings import DEFAULT_MAX_BYTES, DEFAULT_MAX_CONCURRENCY, ENDPOINT_ID_PATTERN
from forwarder.version import version

# Entries are sent a slice at a time so that a terminal can show progress between slices;
# a slice is large enough to keep every connection busy.
SLICE = 2000
EXIT_FAILED_ENTRIES = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """`python -m forwarder put-events ...` (and `python -m forwarder --version`)."""
    return _run(_parser().parse_args(argv), stdin, stdout)


def put_events_command(
    argv: Sequence[str] | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> int:
    """`eventbridge-put-events ...`, the console script the wheel installs: the put-events command alone."""
    parser = argparse.ArgumentParser(prog="eventbridge-put-events", description=__doc__.split("\n")[0])
    _add_version(parser)
    return _run(_put_events_arguments(parser).parse_args(argv), stdin, stdout)


def _run(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    try:
        entries = load_entries(args.entries, stdin)
    except ValueError as error:
        print(f"put-events: {error}", file=sys.stderr)
        return EXIT_USAGE
    overrides = {k: v for k, v in (("region_name", args.region), ("endpoint_url", args.endpoint_url)) if v}
    client = create_client("events", args.max_concurrency, **overrides)
    results = _send(entries, client, args, progress=sys.stderr if sys.stderr.isatty() else None)
    failed = sum("ErrorCode" in result for result in results)
    json.dump({"FailedEntryCount": failed, "Entries": results}, stdout, indent=2)
    stdout.write("\n")
    return EXIT_FAILED_ENTRIES if failed else 0


def load_entries(value: str, stdin: TextIO) -> list[Any]:
    """Inline JSON, `file://path`, or `-` for standard input; always a JSON list."""
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


def _send(entries: list[Any], client: Any, args: argparse.Namespace, progress: TextIO | None) -> list[dict]:
    results: list[dict] = []
    for start in range(0, len(entries), SLICE):
        results += put_events(
            entries[start : start + SLICE],
            client=client,
            event_bus_name=args.event_bus_name,
            endpoint_id=args.endpoint_id,
            max_request_bytes=args.max_request_bytes,
            max_concurrency=args.max_concurrency,
        )
        if progress:
            failed = sum("ErrorCode" in r for r in results)
            progress.write(f"\rput-events: {len(results)}/{len(entries)} entries sent, {failed} failed")
            progress.flush()
    if progress and entries:
        progress.write("\n")
    return results


def _endpoint_id(value: str) -> str:
    if not ENDPOINT_ID_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(f"not a global endpoint id like 'abcde.veo': {value!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m forwarder", description=__doc__.split("\n")[0])
    _add_version(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    _put_events_arguments(commands.add_parser("put-events", help="send entries to EventBridge, as many as you have"))
    return parser


def _add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")


def _put_events_arguments(put: argparse.ArgumentParser) -> argparse.ArgumentParser:
    put.add_argument("--entries", required=True, help="JSON list of entries, file://PATH, or - for stdin")
    put.add_argument("--event-bus-name", help="bus for entries that name none")
    put.add_argument("--endpoint-id", type=_endpoint_id, help="send through this global endpoint (SigV4a)")
    put.add_argument("--region", help="AWS region (default: from the environment or profile)")
    put.add_argument("--endpoint-url", help="override the endpoint, as the AWS CLI's option does")
    put.add_argument("--max-concurrency", type=int, default=DEFAULT_MAX_CONCURRENCY, help="requests in flight")
    put.add_argument("--max-request-bytes", type=int, default=DEFAULT_MAX_BYTES, help="request size limit")
    return put
