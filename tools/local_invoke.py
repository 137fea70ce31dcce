"""Run the handler inside the real AWS Lambda Runtime Interface Client, without Docker.

    python -m tools.local_invoke events/sqs.json            (or: make invoke EVENT=events/sqs.json)

What happens, in the order Lambda does it:

1. A local AWS emulator is started (moto in server mode on 127.0.0.1), unless --endpoint-url names one.
   The target event bus is created if it is not ``default``, with a rule and an SQS queue behind it so
   that we can show what reached the bus.
2. A minimal Lambda Runtime API (version 2018-06-01) listens on 127.0.0.1: ``/runtime/invocation/next``,
   ``/runtime/invocation/{id}/response``, ``/runtime/invocation/{id}/error`` and ``/runtime/init/error``.
3. The real runtime client starts as a child process, exactly as Lambda starts it:
   ``python -m awslambdaric forwarder.handler.lambda_handler`` in the code root, with the environment a
   function sees (function name, memory, version, region, _HANDLER, LAMBDA_TASK_ROOT, dummy credentials)
   plus the forwarder's settings taken from our environment and ``AWS_ENDPOINT_URL`` set to the emulator.
4. One event is delivered. The handler's response goes to stdout; the function's logs (the child's
   stdout and stderr) and the events that reached the bus go to stderr.

Exit status: 0 the handler returned; 1 the handler raised (invoke error); 3 init error (the module could
not be imported, e.g. a required setting is missing); 4 timeout; 5 the runtime exited without reporting;
6 the emulator could not be started or prepared; 2 wrong usage.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from forwarder.settings import ENVIRONMENT_VARIABLES
from forwarder_testing.bus_tap import BusTap
from forwarder_testing.local_aws import moto_server

EXIT_OK = 0
EXIT_INVOKE_ERROR = 1
EXIT_INIT_ERROR = 3
EXIT_TIMEOUT = 4
EXIT_RUNTIME_EXITED = 5
EXIT_EMULATOR = 6

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "123456789012"  # moto's default account
API_PREFIX = "/2018-06-01/runtime"
# Lambda's invocation payload limit, for the event and for the response.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024

# The forwarder's own settings, passed through from the caller's environment when set there.
FORWARDER_SETTINGS = (*ENVIRONMENT_VARIABLES, "LOG_LEVEL")
# Families passed through as well: Powertools switches, Lambda's log controls, per-service endpoints
# (e.g. AWS_ENDPOINT_URL_EVENTBRIDGE pointing at a fault-injecting endpoint).
PASSTHROUGH_PREFIXES = ("POWERTOOLS_", "AWS_LAMBDA_LOG_", "AWS_ENDPOINT_URL_")
# Used only when the caller's environment does not set the variable at all (an empty value is kept,
# so `EVENT_SOURCE= make invoke ...` shows the init error a missing setting gives).
DEMO_DEFAULTS = {"EVENT_SOURCE": "local.invoke", "EVENT_DETAIL_TYPE": "LocalInvoke"}

# Dummy credentials in the shape Lambda hands out (temporary keys with a session token).
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIALOCALINVOKEDUMMY",
    "AWS_SECRET_ACCESS_KEY": "local-invoke-dummy-secret-access-key-000",
    "AWS_SESSION_TOKEN": "local-invoke-dummy-session-token",
}


def log(message: str) -> None:
    print(f"[local-invoke] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# The Runtime API


# The runtime sends the X-Ray cause of an invocation error as a header of up to 1 MiB; http.server's
# header parser stops at 64 KiB lines and would answer 431, which makes the runtime crash.
http.client._MAXLINE = max(http.client._MAXLINE, 2 * 1024 * 1024)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The runtime is killed while its next /next is held open: a reset connection is expected.
        if not isinstance(sys.exception(), ConnectionError):
            super().handle_error(request, client_address)


@dataclass(frozen=True)
class Report:
    """What the runtime told us: kind is 'response', 'error' or 'init_error'."""

    kind: str
    body: bytes
    error_type: str | None = None


@dataclass(frozen=True)
class Invocation:
    event: bytes
    request_id: str
    function_arn: str
    trace_id: str
    timeout_s: float


class RuntimeApi:
    """Serves one invocation over Lambda's Runtime API and collects what the runtime reports.

    The first ``/next`` gets the event; later ones are held open, as Lambda holds them until the next
    event arrives (here: never, the child is stopped).
    """

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.reports: queue.Queue[Report] = queue.Queue()
        self.delivered = threading.Event()
        self.deadline_ms = 0
        self._stopping = threading.Event()
        self._next_lock = threading.Lock()
        self._served = False
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RuntimeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _take_event(self) -> bool:
        with self._next_lock:
            if self._served:
                return False
            self._served = True
            self.deadline_ms = int((time.time() + self.invocation.timeout_s) * 1000)
            return True

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = (
                "HTTP/1.1"  # keep-alive and Expect: 100-continue, as the runtime's curl expects
            )

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
                return

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _send(
                self,
                status: HTTPStatus,
                payload: dict[str, Any] | bytes,
                headers: dict[str, str] | None = None,
            ):
                body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if "Content-Type" not in (headers or {}):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path != f"{API_PREFIX}/invocation/next":
                    self._send(HTTPStatus.NOT_FOUND, {"errorType": "NotFound", "errorMessage": self.path})
                    return
                if not api._take_event():
                    # Lambda would freeze the runtime here until the next event; we stop it instead.
                    api._stopping.wait()
                    self.close_connection = True
                    return
                inv = api.invocation
                self._send(
                    HTTPStatus.OK,
                    inv.event,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(api.deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
                        "Lambda-Runtime-Trace-Id": inv.trace_id,
                    },
                )
                api.delivered.set()

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self._body()
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                request_id = api.invocation.request_id
                if self.path == f"{API_PREFIX}/init/error":
                    report = Report("init_error", body, error_type)
                elif self.path == f"{API_PREFIX}/invocation/{request_id}/response":
                    report = Report("response", body)
                elif self.path == f"{API_PREFIX}/invocation/{request_id}/error":
                    report = Report("error", body, error_type)
                else:
                    self._send(HTTPStatus.NOT_FOUND, {"errorType": "NotFound", "errorMessage": self.path})
                    return
                self._send(HTTPStatus.ACCEPTED, {"status": "OK"})
                api.reports.put(report)

        return Handler


# --------------------------------------------------------------------------------------------------
# The emulator and what reached the bus


def bus_tap(endpoint_url: str, region: str, bus: str) -> BusTap:
    """The tap on the target bus, through clients with the function's dummy credentials."""
    import boto3  # the tool runs in the project's venv, where boto3 is pinned

    session = boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )
    events = session.client("events", endpoint_url=endpoint_url)
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    return BusTap(events, sqs, bus, name=f"local-invoke-tap-{secrets.token_hex(4)}")


# --------------------------------------------------------------------------------------------------
# The function's process


def stop(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def trace_header() -> str:
    """A fresh X-Ray header as Lambda sends it: Root=1-<epoch hex>-<96 bits>;Parent=<64 bits>;Sampled=0."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def function_environment(
    args: argparse.Namespace, runtime_api: str, endpoint_url: str, code_root: Path, scratch: Path
) -> dict[str, str]:
    """The environment a Lambda function sees, plus the forwarder's settings and the endpoint override."""
    import awslambdaric

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
        "AWS_LAMBDA_FUNCTION_NAME": args.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(args.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{args.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_REGION": args.region,
        "AWS_DEFAULT_REGION": args.region,
        "_HANDLER": args.handler,
        "LAMBDA_TASK_ROOT": str(code_root),
        "LAMBDA_RUNTIME_DIR": str(Path(awslambdaric.__file__).resolve().parent.parent),
        "PYTHONPATH": str(code_root),  # the function's code on its path, as Lambda puts LAMBDA_TASK_ROOT there
        # Keep the caller's ~/.aws out of the function, as Lambda has none.
        "AWS_CONFIG_FILE": str(scratch / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-aws-credentials"),
        **DUMMY_CREDENTIALS,
    }
    env.update(DEMO_DEFAULTS)
    for name, value in os.environ.items():
        if name in FORWARDER_SETTINGS or name.startswith(PASSTHROUGH_PREFIXES):
            env[name] = value
    env["AWS_ENDPOINT_URL"] = endpoint_url
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = value
    return env


def copy_logs(stream: Any) -> None:
    """The function's output to our stderr. The runtime ends the lines of one multi-line log record (an
    error and its traceback) with CR, which CloudWatch shows as lines; a terminal would overwrite them."""
    out = sys.stderr.buffer
    for line in iter(stream.readline, b""):
        out.write(line.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        out.flush()


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


def invoke(args: argparse.Namespace, endpoint_url: str, scratch: Path) -> int:
    code_root = Path(args.code_root).resolve()
    event = Path(args.event).read_bytes()
    try:
        json.loads(event)
    except ValueError as error:
        log(f"{args.event} is not JSON: {error}")
        return 2
    if len(event) > MAX_PAYLOAD_BYTES:
        log(f"warning: the event is {len(event):,} bytes; Lambda refuses payloads over {MAX_PAYLOAD_BYTES:,}")
    invocation = Invocation(
        event=event,
        request_id=str(uuid.uuid4()),
        function_arn=f"arn:aws:lambda:{args.region}:{ACCOUNT_ID}:function:{args.function_name}",
        trace_id=args.trace_header or trace_header(),
        timeout_s=args.timeout,
    )
    with RuntimeApi(invocation) as api:
        env = function_environment(args, api.address, endpoint_url, code_root, scratch)
        log(
            f"runtime API on {api.address}; starting: python -m awslambdaric {args.handler} (cwd {code_root})"
        )
        sys.stderr.flush()
        child = subprocess.Popen(  # noqa: S603 - fixed argv: our own interpreter running the Lambda runtime client
            [sys.executable, "-m", "awslambdaric", args.handler],
            cwd=code_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,  # the function's logs go to our stderr, our stdout is the response
            stderr=subprocess.STDOUT,
        )
        copier = threading.Thread(target=copy_logs, args=(child.stdout,), name="function-logs", daemon=True)
        copier.start()
        try:
            outcome = wait_for_report(api, child, args.init_timeout)
        finally:
            stop(child)
            copier.join(timeout=2)

    if outcome == "timeout-init":
        log(f"init timeout: the runtime did not ask for the event within {args.init_timeout:g} s")
        return EXIT_TIMEOUT
    if outcome == "timeout":
        log(f"timeout: Task timed out after {args.timeout:g} seconds (request {invocation.request_id})")
        return EXIT_TIMEOUT
    if outcome == "exited":
        log(f"the runtime exited with status {child.returncode} without reporting a result or an error")
        return EXIT_RUNTIME_EXITED
    assert isinstance(outcome, Report)  # noqa: S101 - the remaining case
    if outcome.kind == "response" and len(outcome.body) > MAX_PAYLOAD_BYTES:
        log(f"warning: the response is {len(outcome.body):,} bytes; Lambda would fail the invocation")
    if outcome.kind == "response":
        print_json_or_text(outcome.body)
        return EXIT_OK
    print_json_or_text(outcome.body)
    summary = describe_error(outcome.body)
    if outcome.kind == "init_error":
        log(f"init error: {summary}")
        return EXIT_INIT_ERROR
    log(f"invoke error: {summary}")
    return EXIT_INVOKE_ERROR


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bus = next(
        (item.split("=", 1)[1] for item in reversed(args.env) if item.startswith("EVENT_BUS_NAME=")), None
    )
    if bus is None:
        bus = os.environ.get("EVENT_BUS_NAME", "")
    bus = bus.strip() or "default"

    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="local-invoke-")))
        try:
            if args.endpoint_url:
                endpoint_url = args.endpoint_url
            else:
                endpoint_url = stack.enter_context(moto_server(log=scratch / "moto.log"))
                log(f"moto server on {endpoint_url}")
            tap = None if args.no_bus_tap else stack.enter_context(bus_tap(endpoint_url, args.region, bus))
        except Exception as error:
            log(f"could not prepare the emulator: {error}")
            return EXIT_EMULATOR

        status = invoke(args, endpoint_url, scratch)

        if tap is not None:
            try:
                reached = tap.drain(settle_s=0.5 if not args.endpoint_url else 2.0)
            except Exception as error:
                log(f"could not read back what reached the bus: {error}")
            else:
                log(f"{len(reached)} event(s) reached bus {tap.bus!r}" + (":" if reached else ""))
                for item in reached:
                    print(json.dumps(item, ensure_ascii=False), file=sys.stderr)
                sys.stderr.flush()
        return status


if __name__ == "__main__":
    sys.exit(main())
