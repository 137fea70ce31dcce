"""The command: the options, the emulator and the bus tap, one invocation, and the exit status it gives."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from forwarder_testing.bus_tap import BusTap
from forwarder_testing.local_aws import moto_server
from tools.local_invoke.function import DUMMY_CREDENTIALS, function_environment, start_function, stop
from tools.local_invoke.outcome import EXIT_EMULATOR, MAX_PAYLOAD_BYTES, exit_status, log, wait_for_report
from tools.local_invoke.runtime_api import Invocation, RuntimeApi
from tools.local_invoke.sources import prepare_bus, stage_sqs_messages

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_ID = "123456789012"  # moto's default account
def emulator_clients(endpoint_url: str, region: str) -> tuple[Any, Any]:
    """EventBridge and SQS clients on the emulator, with the function's dummy credentials."""
    import boto3  # the tool runs in the project's venv, where boto3 is pinned

    session = boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )
    return session.client("events", endpoint_url=endpoint_url), session.client("sqs", endpoint_url=endpoint_url)


def bus_tap(events: Any, sqs: Any, bus: str) -> BusTap:
    """The tap on the target bus (which exists: prepare_bus made sure of it)."""
    return BusTap(events, sqs, bus, name=f"local-invoke-tap-{secrets.token_hex(4)}")


def trace_header() -> str:
    """A fresh X-Ray header as Lambda sends it: Root=1-<epoch hex>-<96 bits>;Parent=<64 bits>;Sampled=0."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def read_event(path: str) -> bytes | None:
    """The event file's bytes, or None (logged) when it is not JSON."""
    event = Path(path).read_bytes()
    try:
        json.loads(event)
    except ValueError as error:
        log(f"{path} is not JSON: {error}")
        return None
    if len(event) > MAX_PAYLOAD_BYTES:
        log(f"warning: the event is {len(event):,} bytes; Lambda refuses payloads over {MAX_PAYLOAD_BYTES:,}")
    return event


def invoke(args: argparse.Namespace, endpoint_url: str, scratch: Path, sqs: Any = None) -> int:
    """`sqs`: the emulator's SQS, to stage the event's SQS messages in their queues (sources.py); None leaves
    the event as it is."""
    code_root = Path(args.code_root).resolve()
    event = read_event(args.event)
    if event is None:
        return 2
    if sqs is not None:
        event = stage_sqs_messages(sqs, event)
    invocation = Invocation(
        event=event,
        request_id=str(uuid.uuid4()),
        function_arn=f"arn:aws:lambda:{args.region}:{ACCOUNT_ID}:function:{args.function_name}",
        trace_id=args.trace_header or trace_header(),
        timeout_s=args.timeout,
    )
    with RuntimeApi(invocation) as api:
        env = function_environment(args, api.address, endpoint_url, code_root, scratch)
        log(f"runtime API on {api.address}; starting: python -m awslambdaric {args.handler} (cwd {code_root})")
        sys.stderr.flush()
        child, copier = start_function(args, code_root, env)
        try:
            outcome = wait_for_report(api, child, args.init_timeout)
        finally:
            stop(child)
            copier.join(timeout=2)
    return exit_status(outcome, args, invocation, child.returncode)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.local_invoke",
        description="Invoke the Lambda handler once in the real AWS Lambda runtime client, without Docker.",
        epilog="Exit status: 0 ok, 1 invoke error, 3 init error, 4 timeout, 5 runtime exited, 6 emulator.",
    )
    parser.add_argument("event", help="JSON file with the event, e.g. events/sqs.json")
    parser.add_argument("--handler", default="forwarder.handler.lambda_handler", help="module.function")
    parser.add_argument("--code-root", default=str(ROOT / "src"), help="the function's code directory")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="function timeout in seconds (default 30)"
    )
    parser.add_argument(
        "--init-timeout", type=float, default=20.0, help="seconds the runtime may take to start (default 20)"
    )
    parser.add_argument(
        "--endpoint-url", help="use this AWS endpoint (moto, LocalStack, ...) instead of starting moto"
    )
    parser.add_argument("--no-bus-tap", action="store_true", help="do not set up a rule and queue on the bus")
    parser.add_argument(
        "--create-bus", action="store_true", help="create EVENT_BUS_NAME on the emulator when it does not exist"
    )
    parser.add_argument("--function-name", default="event-forwarder")
    parser.add_argument("--memory-size", type=int, default=256)
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
    parser.add_argument("--trace-header", help="Lambda-Runtime-Trace-Id to send (default: a fresh one)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a variable in the function's environment (repeatable; NAME= sets it empty)",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _parser()
    args = parser.parse_args(argv)
    for item in args.env:
        if "=" not in item or not item.split("=", 1)[0]:
            parser.error(f"--env wants NAME=VALUE, got {item!r}")
    if args.timeout <= 0 or args.init_timeout <= 0:
        parser.error("timeouts must be positive")
    if not Path(args.event).is_file():
        parser.error(f"no such event file: {args.event}")
    if not Path(args.code_root).is_dir():
        parser.error(f"no such code root: {args.code_root}")
    return args


def target_bus(args: argparse.Namespace) -> str:
    """The bus the function publishes to: the last --env EVENT_BUS_NAME=, else our environment's."""
    bus = next(
        (item.split("=", 1)[1] for item in reversed(args.env) if item.startswith("EVENT_BUS_NAME=")), None
    )
    if bus is None:
        bus = os.environ.get("EVENT_BUS_NAME", "")
    return bus.strip() or "default"


def show_what_reached(tap: BusTap, settle_s: float) -> None:
    """The events the tap's queue received, one JSON line each on stderr (`make sam-local-invoke` too)."""
    try:
        reached = tap.drain(settle_s=settle_s)
    except Exception as error:
        log(f"could not read back what reached the bus: {error}")
        return
    log(f"{len(reached)} event(s) reached bus {tap.bus!r}" + (":" if reached else ""))
    for item in reached:
        print(json.dumps(item, ensure_ascii=False), file=sys.stderr)
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bus = target_bus(args)
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="local-invoke-")))
        try:
            if args.endpoint_url:
                endpoint_url = args.endpoint_url
            else:
                endpoint_url = stack.enter_context(moto_server(log=scratch / "moto.log"))
                log(f"moto server on {endpoint_url}")
            events, sqs = emulator_clients(endpoint_url, args.region)
            exists = prepare_bus(events, bus, args.create_bus)
            tap = stack.enter_context(bus_tap(events, sqs, bus)) if exists and not args.no_bus_tap else None
        except Exception as error:
            log(f"could not prepare the emulator: {error}")
            return EXIT_EMULATOR

        # Our own moto holds the event's SQS messages; an emulator named with --endpoint-url is left as it is.
        status = invoke(args, endpoint_url, scratch, sqs=None if args.endpoint_url else sqs)
        if tap is not None:
            # An emulator we started answers at once; one named with --endpoint-url may be slower.
            show_what_reached(tap, settle_s=0.5 if not args.endpoint_url else 2.0)
        return status
