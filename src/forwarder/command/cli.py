"""`python -m forwarder put-events`: the AWS CLI's `aws events put-events`, for any number of entries.

    python -m forwarder put-events --entries file://events.json --event-bus-name orders
    eventbridge-put-events --entries file://events.json --event-bus-name orders   (installed from the wheel)

It takes the AWS CLI's entries format (a JSON list; `Detail` a string or an object; `Time` in any
form of the AWS CLI's Timestamp type, read as the AWS CLI reads it: epoch seconds as a number or a
string, ISO 8601 / RFC 3339 in any case), prints the AWS CLI's result shape in input order, and
exits 1 when any entry failed. An entry the AWS CLI would refuse fails alone, with InvalidArgument.
What the AWS CLI would refuse before sending (an option, the input, the region, the credentials) is
one line on standard error and exit 2. SIGINT or SIGTERM stops the sending: what is in flight gets a
short grace, every entry's result is printed (the unconfirmed ones "Interrupted") and it exits 130 or 143.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from threading import Event
from typing import Any, BinaryIO, NoReturn, TextIO

from forwarder.config.settings import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CONCURRENCY,
    ENDPOINT_ID_PATTERN,
)
from forwarder.core.codes import STOPPED
from forwarder.library.aws_setup import SetupError, checked_session
from forwarder.library.bulk import LIMITS, default_client, put_events
from forwarder.version import version

# Entries are sent a slice at a time so that a terminal can show progress between slices;
# a slice is large enough to keep every connection busy.
SLICE = 2000
EXIT_FAILED_ENTRIES = 1
EXIT_USAGE = 2
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE: what a shell shows for a command that a closed pipe ended

SUMMARY = "Send entries to Amazon EventBridge (PutEvents), as many as you have: the AWS CLI's put-events, unbounded."
EPILOG = """\
example:
  {prog} --entries file://events.json --event-bus-name orders

entries (--entries), a JSON list in the AWS CLI's format, given as:
  file://PATH    a file (UTF-8)
  -              standard input (UTF-8)
  '[{{...}}]'      the JSON itself

the region, the credentials and the endpoint are found as the AWS CLI finds them: --region, AWS_REGION,
AWS_DEFAULT_REGION, the profile (--profile, AWS_PROFILE); --endpoint-url or AWS_ENDPOINT_URL.

prints {{"FailedEntryCount": n, "Entries": [...]}}, one result per entry in input order. exit status:
  0    every entry confirmed
  1    an entry failed (its result says why)
  2    nothing sent: an option, the entries, the region or the credentials cannot be used (one line says which)
  130  SIGINT (143 SIGTERM): sending stopped; results printed, entries left unconfirmed say "Interrupted"
  141  standard output was closed (| head): nothing more printed
"""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (then exit 2), as for every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


def main(argv: Sequence[str] | None = None, stdin: BinaryIO | None = None, stdout: TextIO | None = None) -> int:
    """`python -m forwarder put-events ...` (and `python -m forwarder --version`)."""
    return _run(_parser().parse_args(argv), stdin, stdout)


def put_events_command(
    argv: Sequence[str] | None = None, stdin: BinaryIO | None = None, stdout: TextIO | None = None
) -> int:
    """`eventbridge-put-events ...`, the console script the wheel installs: the put-events command alone."""
    parser = OneLineParser(**_described("eventbridge-put-events"))
    _add_version(parser)
    return _run(_put_events_arguments(parser).parse_args(argv), stdin, stdout)


def _run(args: argparse.Namespace, stdin: BinaryIO | None, stdout: TextIO | None) -> int:
    stop = Event()
    with stopped_by_signals(stop) as received:
        try:
            entries = load_entries(args.entries, stdin or sys.stdin.buffer)
            session, region = checked_session(args.region, args.profile)
        except (ValueError, SetupError) as error:
            print(f"put-events: {error}", file=sys.stderr)
            return EXIT_USAGE
        overrides = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
        client = default_client(args.max_concurrency, session, region_name=region, **overrides)
        results = _send(entries, client, args, stop, progress=sys.stderr if sys.stderr.isatty() else None)
        if not print_results(results, stdout or sys.stdout):
            return EXIT_CLOSED_PIPE
    if received:
        return 128 + received[0]
    return EXIT_FAILED_ENTRIES if any("ErrorCode" in result for result in results) else 0


def print_results(results: list[dict], stdout: TextIO) -> bool:
    """The AWS CLI's result shape; False when the reader went away (`| head`)."""
    failed = sum("ErrorCode" in result for result in results)
    try:
        json.dump({"FailedEntryCount": failed, "Entries": results}, stdout, indent=2)
        stdout.write("\n")
        stdout.flush()
    except BrokenPipeError:
        # Quiet, as other commands are: nothing more can be said on stdout, and its flush at exit must not fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        return False
    return True


@contextmanager
def stopped_by_signals(stop: Event) -> Iterator[list[int]]:
    """SIGINT and SIGTERM set `stop` (and are listed) instead of ending the process, while the block runs."""
    received: list[int] = []

    def handle(signum: int, frame: Any) -> None:
        received.append(signum)
        stop.set()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def load_entries(value: str, stdin: BinaryIO) -> list[Any]:
    """Inline JSON, `file://path`, or `-` for standard input (read as bytes: UTF-8 whatever the locale);
    always a JSON list. ValueError, in one line, says what is wrong."""
    if value == "-":
        text = _utf8(stdin.read(), "standard input")
    elif value.startswith("file://"):
        path = Path(value.removeprefix("file://")).expanduser()
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ValueError(f"cannot read {path}: {error.strerror}") from None
        text = _utf8(data, str(path))
    else:
        text = value
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        hint = f" (to read the file {value}, write --entries file://{value})" if _names_a_file(value) else ""
        raise ValueError(f"--entries is not valid JSON: {error}{hint}") from None
    except RecursionError:
        raise ValueError("--entries is nested too deeply to read") from None
    if not isinstance(entries, list):
        raise ValueError("--entries must be a JSON list of entries")
    return entries


def _utf8(data: bytes | str, where: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{where} is not UTF-8: byte {data[error.start]:#04x} at offset {error.start}") from None


def _names_a_file(value: str) -> bool:
    try:
        return len(value) < 4096 and Path(value).expanduser().is_file()
    except (OSError, ValueError):
        return False


def _send(entries: list[Any], client: Any, args: argparse.Namespace, stop: Event,
          progress: TextIO | None) -> list[dict]:
    results: list[dict] = []
    for start in range(0, len(entries), SLICE):
        if stop.is_set():
            break
        results += put_events(
            entries[start : start + SLICE],
            client=client,
            event_bus_name=args.event_bus_name,
            endpoint_id=args.endpoint_id,
            max_request_bytes=args.max_request_bytes,
            max_concurrency=args.max_concurrency,
            max_attempts=args.max_attempts,
            timeout=args.timeout,
            stop=stop,
        )
        if progress:
            failed = sum("ErrorCode" in r for r in results)
            progress.write(f"\rput-events: {len(results)}/{len(entries)} entries sent, {failed} failed")
            progress.flush()
    if progress and entries:
        progress.write("\n")
    # Slices the stop came before: never sent.
    unsent = {"ErrorCode": STOPPED, "ErrorMessage": "not sent: stopped before its turn"}
    return results + [dict(unsent) for _ in range(len(entries) - len(results))]


def _endpoint_id(value: str) -> str:
    if not ENDPOINT_ID_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(f"not a global endpoint id like 'abcde.veo': {value!r}")
    return value


def whole_number(name: str) -> Callable[[str], int]:
    low, high = LIMITS[name]

    def number(value: str) -> int:
        try:
            parsed = int(value)
        except ValueError:
            parsed = None
        if parsed is None or not low <= parsed <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, got {value!r}")
        return parsed

    return number


def seconds_value(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value!r}")
    return seconds


def _described(prog: str) -> dict[str, Any]:
    """The help of the put-events command under the name it is called by."""
    return {"prog": prog, "description": SUMMARY, "epilog": EPILOG.format(prog=prog),
            "formatter_class": argparse.RawDescriptionHelpFormatter}


# The commands whose command lines live in modules of their own: __main__.py runs them, --help lists them.
OTHER_COMMANDS = {
    "put-raw-events": ("forwarder.command.raw_cli",
                       "Send entries to a Custom Event Bus (PutRawEvents): any bytes as Data."),
    "redrive": ("forwarder.redrive.command", "Bring parked records back: quarantined or on-failure records "
                                             "forwarded again, or moved back to a queue."),
}


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m forwarder", description="The forwarder's commands.")
    _add_version(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    put = commands.add_parser("put-events", help=SUMMARY, **_described("python -m forwarder put-events"))
    _put_events_arguments(put)
    for name, (_module, summary) in OTHER_COMMANDS.items():
        commands.add_parser(name, help=f"{summary} (see python -m forwarder {name} --help)", add_help=False)
    return parser


def _add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")


def _put_events_arguments(put: argparse.ArgumentParser) -> argparse.ArgumentParser:
    put.add_argument("--entries", required=True, help="JSON list of entries, file://PATH, or - for stdin")
    put.add_argument("--event-bus-name", help="bus for entries that name none")
    put.add_argument("--endpoint-id", type=_endpoint_id, help="send through this global endpoint (SigV4a)")
    put.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's)")
    put.add_argument("--profile", help="the named profile of the AWS config files (default: AWS_PROFILE)")
    put.add_argument("--endpoint-url", help="override the endpoint, as the AWS CLI's option does")
    return add_sending_options(put)


def add_sending_options(put: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The publisher's numbers, range-checked as the function's settings are (put-events and put-raw-events)."""
    for name, default, help_text in (
        ("max_concurrency", DEFAULT_MAX_CONCURRENCY, "requests in flight at most"),
        ("max_request_bytes", DEFAULT_MAX_BYTES, "request size limit in bytes"),
        ("max_attempts", DEFAULT_MAX_ATTEMPTS, "sends of one entry at most, the first included"),
    ):
        low, high = LIMITS[name]
        put.add_argument(f"--{name.replace('_', '-')}", type=whole_number(name), default=default,
                         help=f"{help_text} ({low} to {high}; default {default})")
    put.add_argument("--timeout", type=seconds_value,
                     help="seconds; entries not confirmed by then fail DeadlineExceeded")
    return put
