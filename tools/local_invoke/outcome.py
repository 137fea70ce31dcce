"""What the runtime reported, waited for with the function's timeouts, and the exit status it makes."""

from __future__ import annotations

import argparse
import json
import queue
import subprocess
import sys
import time

from tools.local_invoke.runtime_api import Invocation, Report, RuntimeApi

EXIT_OK = 0
EXIT_INVOKE_ERROR = 1
EXIT_INIT_ERROR = 3
EXIT_TIMEOUT = 4
EXIT_RUNTIME_EXITED = 5
EXIT_EMULATOR = 6

# Lambda's invocation payload limit, for the event and for the response.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


def log(message: str) -> None:
    print(f"[local-invoke] {message}", file=sys.stderr, flush=True)


def describe_error(body: bytes) -> str:
    """'Type: message' from the runtime's error document."""
    try:
        error = json.loads(body)
    except ValueError:
        error = None
    if not isinstance(error, dict):
        return body.decode(errors="replace")
    return f"{error.get('errorType') or 'Error'}: {error.get('errorMessage', '')}"


def print_json_or_text(body: bytes) -> None:
    try:
        text = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        text = body.decode(errors="replace")
    print(text, flush=True)


def wait_for_report(api: RuntimeApi, child: subprocess.Popen[bytes], init_timeout_s: float) -> Report | str:
    """The runtime's report, or a reason why none came ('timeout-init', 'timeout', 'exited')."""
    init_give_up = time.monotonic() + init_timeout_s
    invoke_give_up: float | None = None
    while True:
        try:
            return api.reports.get(timeout=0.05)
        except queue.Empty:
            pass
        if api.delivered.is_set() and invoke_give_up is None:
            invoke_give_up = time.monotonic() + api.invocation.timeout_s
        if child.poll() is not None:
            try:  # it may have reported just before exiting
                return api.reports.get(timeout=0.5)
            except queue.Empty:
                return "exited"
        now = time.monotonic()
        if invoke_give_up is None and now > init_give_up:
            return "timeout-init"
        if invoke_give_up is not None and now > invoke_give_up:
            return "timeout"


def exit_status(outcome: Report | str, args: argparse.Namespace, invocation: Invocation, returncode: int) -> int:
    """Print what the runtime reported (the response on stdout, the rest on stderr); the exit status."""
    if outcome == "timeout-init":
        log(f"init timeout: the runtime did not ask for the event within {args.init_timeout:g} s")
        return EXIT_TIMEOUT
    if outcome == "timeout":
        log(f"timeout: Task timed out after {args.timeout:g} seconds (request {invocation.request_id})")
        return EXIT_TIMEOUT
    if outcome == "exited":
        log(f"the runtime exited with status {returncode} without reporting a result or an error")
        return EXIT_RUNTIME_EXITED
    assert isinstance(outcome, Report)  # noqa: S101 - the remaining case
    if outcome.kind == "response" and len(outcome.body) > MAX_PAYLOAD_BYTES:
        log(f"warning: the response is {len(outcome.body):,} bytes; Lambda would fail the invocation")
    print_json_or_text(outcome.body)
    if outcome.kind == "response":
        return EXIT_OK
    summary = describe_error(outcome.body)
    if outcome.kind == "init_error":
        log_whole(f"init error: {summary}")
        return EXIT_INIT_ERROR
    log_whole(f"invoke error: {summary}")
    return EXIT_INVOKE_ERROR


def log_whole(message: str) -> None:
    """A message of several lines (a JMESPath error points at the expression on its own lines) kept whole,
    each line with the tool's prefix, so that no part of it reads as the function's output."""
    first, *rest = message.splitlines() or [""]
    log(first)
    for line in rest:
        log(f"  {line}")
