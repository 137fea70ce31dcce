"""`python -m forwarder redrive`: bring parked records back (run.py does the work).

    python -m forwarder redrive --from QUARANTINE_OR_ON_FAILURE_QUEUE_URL [--dry-run] [--max N] [--rate R]
    python -m forwarder redrive --from QUARANTINE_QUEUE_URL --to-queue SOURCE_QUEUE_URL

Forwarding takes the function's own environment variables (EVENT_BUS_NAME, EVENT_SOURCE, the expressions,
LARGE_PAYLOAD_BUCKET, ...): set them as the stack sets them, corrected where a record failed because of
them. Prints what was not done, one line each, then `summary: ...`; exits 0 only when every message read
was done (1 when some failed again, expired or was not recognised, 2 for a usage or configuration error,
130 when interrupted). The first SIGINT stops after the message in hand (what was sent is deleted, what
was not is made visible again); a second one stops at once, and the messages then held come back when
their visibility timeout ends.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from forwarder.config.env_values import ConfigurationError
from forwarder.net.clients import create_client
from forwarder.redrive.resend import Pipeline, Requeue
from forwarder.redrive.run import Pacer, Redrive, stream_clients

EXIT_NOT_ALL_DONE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_RATE = 100.0  # records per second: a small share of the smallest regional PutEvents quota
CLIENT_CONCURRENCY = 4


def main(argv: Sequence[str] | None = None, stdout: TextIO = sys.stdout, stop: threading.Event | None = None) -> int:
    args = _parser().parse_args(argv)
    stop = stop or threading.Event()
    try:
        redrive = _redrive(args, stop, stdout)
    except ConfigurationError as error:
        print(f"redrive: {error}", file=sys.stderr)
        return EXIT_USAGE
    with _sigint_sets(stop):
        try:
            tally = redrive.run()
        except (ClientError, BotoCoreError) as error:  # the queue itself (no such queue, no permission)
            tally = redrive.tally
            tally.failures.append(f"stopped: {error}")
    for line in tally.failures:
        stdout.write(f"not done: {line}\n")
    stdout.write(f"summary: {tally.line()}{' (interrupted)' if tally.interrupted else ''}\n")
    if tally.interrupted:
        return EXIT_INTERRUPTED
    return 0 if tally.complete else EXIT_NOT_ALL_DONE


def _redrive(args: argparse.Namespace, stop: threading.Event, stdout: TextIO) -> Redrive:
    sqs = create_client("sqs", CLIENT_CONCURRENCY)
    requeue = Requeue(sqs, args.to_queue) if args.to_queue else None
    pipeline = None if requeue else Pipeline.from_env(os.environ)
    return Redrive(
        sqs, args.source, pipeline, requeue, stream_clients(CLIENT_CONCURRENCY),
        pacer=Pacer(None if args.rate == 0 else args.rate, stop),
        stop=stop,
        dry_run=args.dry_run,
        max_messages=args.max,
        wait_seconds=args.wait_seconds,
        visibility_timeout=args.visibility_timeout,
        plan=stdout,
        progress=sys.stderr if sys.stderr.isatty() else None,
    )


class _sigint_sets:  # noqa: N801 - used as a context manager
    """The first SIGINT sets `stop`; the second one interrupts at once (Python's default)."""

    def __init__(self, stop: threading.Event):
        self._stop = stop
        self._previous = None

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only (a test running main() in a thread sets `stop` itself)
        self._previous = signal.signal(signal.SIGINT, self._first)

    def _first(self, signum: int, frame: object) -> None:
        self._stop.set()
        sys.stderr.write("\nredrive: stopping after the message in hand (Ctrl-C again to stop at once)\n")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return number


def _rate(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or more, got {value}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m forwarder redrive", description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="source", required=True, metavar="QUEUE_URL",
                        help="the quarantine queue, or a Kinesis/DynamoDB event source's on-failure queue")
    parser.add_argument("--to-queue", metavar="QUEUE_URL",
                        help="move quarantined SQS records back to this queue instead of forwarding them")
    parser.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing")
    parser.add_argument("--max", type=_positive, help="read at most this many messages")
    parser.add_argument("--rate", type=_rate, default=DEFAULT_RATE,
                        help=f"records per second at most (default {DEFAULT_RATE:g}; 0: no limit)")
    parser.add_argument("--wait-seconds", type=int, default=2, choices=range(21), metavar="0-20",
                        help="long polling: how long an empty queue is waited on before the run ends")
    parser.add_argument("--visibility-timeout", type=_positive, default=900,
                        help="seconds a message read is hidden from other readers while the run holds it")
    return parser
