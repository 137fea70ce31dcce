"""The command: the engine, the base image, `sam build`, the emulator, then `sam local invoke` or
`sam local start-lambda` (answered through boto3's Lambda client), and what reached the bus.

    python -m tools.sam_local invoke events/sqs.json        (make sam-local-invoke EVENT=events/sqs.json)
    python -m tools.sam_local start-lambda events/sqs.json  (make sam-local-start-lambda EVENT=...)

Like `make invoke` (tools/local_invoke/), the response goes to stdout and everything else (what is set up,
the function's logs, the events that reached the bus) to stderr. Exit status: 0 the function returned; 1 it
failed (an invoke or init error: the runtime's error document is on stdout); 2 wrong usage; 6 the engine,
the image or the emulator could not be had (the reason is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from forwarder_testing.local_aws import free_port, moto_server
from tools.local_invoke.command import show_what_reached
from tools.local_invoke.function import DUMMY_CREDENTIALS
from tools.local_invoke.outcome import EXIT_EMULATOR, print_json_or_text
from tools.sam_local.base_image import ensure_base_image, machine_arch
from tools.sam_local.emulator import DEFAULT_BUS, FUNCTION, prepare, write_env_vars
from tools.sam_local.engine import EngineUnavailable, bridge_address, ensure_engine

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-sam" / "bin" / "sam"
TEMPLATE = ROOT / "template.yaml"
EXIT_FUNCTION_ERROR = 1


def log(message: str) -> None:
    print(f"[sam-local] {message}", file=sys.stderr, flush=True)


def sam_env(region: str, local_url: str = "") -> dict[str, str]:
    """The SAM CLI's environment: dummy credentials (SAM hands the container the ones it finds), the region,
    no endpoint override of ours, no telemetry, and a real python3.13 first on PATH for `sam build`.

    `sam local` asks STS for the account id (GetCallerIdentity) before each run: with `local_url` it asks the
    local emulator, so that nothing leaves the machine (and the account is moto's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL") and k != "AWS_PROFILE"}
    python_dir = (
        str(Path(os.environ["PY313"]).parent) if os.environ.get("PY313") else str(Path(sys.base_prefix) / "bin")
    )
    env.update(
        DUMMY_CREDENTIALS,
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        SAM_CLI_TELEMETRY="0",
        PATH=python_dir + os.pathsep + env.get("PATH", ""),
    )
    if local_url:
        env["AWS_ENDPOINT_URL_STS"] = local_url
    return env


def sam_build(arch: str, region: str) -> Path:
    """`sam build` of the shipped template for `arch`, cached per architecture; the built template."""
    build_dir = ROOT / ".aws-sam" / f"local-{arch}"
    log(f"sam build (Architecture={arch}) into {build_dir.relative_to(ROOT)}")
    result = subprocess.run(  # noqa: S603 - our pinned SAM CLI, fixed arguments
        [
            str(SAM),
            "build",
            "--template-file",
            str(TEMPLATE),
            "--build-dir",
            str(build_dir),
            "--region",
            region,
            "--parameter-overrides",
            f"Architecture={arch}",
            "--cached",
            "--cache-dir",
            str(ROOT / ".aws-sam" / f"local-cache-{arch}"),
        ],
        cwd=ROOT,
        env=sam_env(region),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise EngineUnavailable(
            f"sam build exited {result.returncode}:\n{result.stdout[-1500:]}{result.stderr[-1500:]}"
        )
    return build_dir / "template.yaml"


@dataclass(frozen=True)
class SamLocal:
    """What `sam local invoke` and `start-lambda` share: the built template, the parameters, the function's
    environment (--env-vars), the base image as it is here, the host reachable as host.docker.internal, and
    the emulator SAM itself asks for the account id."""

    template: Path
    arch: str
    env_vars: Path
    region: str
    local_url: str

    def args(self) -> list[str]:
        return [
            "--template-file",
            str(self.template),
            "--parameter-overrides",
            f"Architecture={self.arch}",
            "--env-vars",
            str(self.env_vars),
            "--region",
            self.region,
            "--skip-pull-image",
            "--add-host",
            "host.docker.internal:host-gateway",
        ]

    def env(self) -> dict[str, str]:
        return sam_env(self.region, self.local_url)


def invoke(event: Path, run: SamLocal) -> bytes:
    """`sam local invoke`: the function's logs to our stderr, its answer returned."""
    command = [str(SAM), "local", "invoke", FUNCTION, "--event", str(event), *run.args()]
    log(" ".join(["sam", *command[1:]]))
    result = subprocess.run(  # noqa: S603 - our pinned SAM CLI
        command, cwd=ROOT, env=run.env(), stdout=subprocess.PIPE, stderr=None, check=False
    )
    if result.returncode != 0:
        raise EngineUnavailable(f"sam local invoke exited {result.returncode}")
    return result.stdout


def invoke_through_start_lambda(event: Path, run: SamLocal) -> bytes:
    """`sam local start-lambda` on 127.0.0.1, one Invoke through boto3's Lambda client, then it is stopped."""
    port = free_port()
    command = [str(SAM), "local", "start-lambda", "--host", "127.0.0.1", "--port", str(port), *run.args()]
    log(" ".join(["sam", *command[1:]]))
    server = subprocess.Popen(  # noqa: S603 - our pinned SAM CLI
        command, cwd=ROOT, env=run.env(), stdin=subprocess.DEVNULL, stdout=sys.stderr, start_new_session=True
    )
    try:
        wait_for_port(port, server)
        return (
            lambda_client(port, run.region).invoke(FunctionName=FUNCTION, Payload=event.read_bytes())["Payload"].read()
        )
    finally:
        stop(server)


def lambda_client(port: int, region: str):
    from botocore.config import Config

    from tools.sam_local.emulator import session

    config = Config(read_timeout=300, retries={"max_attempts": 1})
    return session(region).client("lambda", endpoint_url=f"http://127.0.0.1:{port}", config=config)


def wait_for_port(port: int, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EngineUnavailable(f"sam local start-lambda exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise EngineUnavailable(f"sam local start-lambda did not listen on 127.0.0.1:{port} within {timeout_s:g} s")


def stop(process: subprocess.Popen) -> None:
    """Our own SAM CLI process group: SIGINT first (SAM then removes its containers), then harder."""
    for sig, wait_s in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait_s)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.sam_local",
        description="Run the shipped template's function under `sam local` in Docker, against moto.",
        epilog="Exit status: 0 ok, 1 the function failed, 2 usage, 6 engine, image or emulator unavailable.",
    )
    parser.add_argument("way", choices=["invoke", "start-lambda"], help="sam local invoke, or start-lambda + boto3")
    parser.add_argument("event", help="JSON file with the event, e.g. events/sqs.json")
    parser.add_argument(
        "--arch",
        default=os.environ.get("ARCH") or machine_arch(),
        choices=["x86_64", "arm64"],
        help="the Architecture parameter (default: this machine's, to run without emulation)",
    )
    parser.add_argument(
        "--image",
        default=os.environ.get("LAMBDA_BASE_IMAGE", "auto"),
        choices=["auto", "aws", "stand-in"],
        help="base image: AWS's when it can be had (auto), AWS's only, or the local stand-in only",
    )
    parser.add_argument("--bus", default=os.environ.get("EVENT_BUS_NAME") or DEFAULT_BUS, help="target bus name")
    parser.add_argument("--no-bus", action="store_true", help="do not create the bus (every record is reported)")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable of the function (one the template declares; repeatable)",
    )
    return parser


def prepare_docker(arch: str, image: str) -> str:
    """The engine and the base image; the bridge address moto will listen on."""
    ensure_engine(log)
    ensure_base_image(arch, image, log)
    return bridge_address()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    event = Path(args.event)
    if not event.is_file():
        parser.error(f"no such event file: {args.event}")
    if any("=" not in item or item.startswith("=") for item in args.env):
        parser.error("--env wants NAME=VALUE")
    overrides = dict(item.split("=", 1) for item in args.env)  # the last of a repeated name wins
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sam-local-")))
        try:
            bridge = prepare_docker(args.arch, args.image)
            template = sam_build(args.arch, args.region)
            url = stack.enter_context(moto_server(host=bridge, log=scratch / "moto.log"))
            log(f"moto server on {url} (the function reaches it as host.docker.internal)")
            aws = prepare(url, args.region, args.bus, tap=not args.no_bus)
            env_vars = write_env_vars(scratch / "env.json", aws.function_environment(overrides))
            run = SamLocal(template, args.arch, env_vars, args.region, local_url=url)
            answer = (invoke if args.way == "invoke" else invoke_through_start_lambda)(event, run)
        except EngineUnavailable as error:
            log(f"cannot run sam local here: {error}")
            return EXIT_EMULATOR
        print_json_or_text(answer.strip() or b"null")
        if aws.tap is not None:
            show_what_reached(aws.tap, settle_s=0.5)
        return EXIT_FUNCTION_ERROR if is_error(answer) else 0


def is_error(answer: bytes) -> bool:
    try:
        document = json.loads(answer)
    except ValueError:
        return True
    return isinstance(document, dict) and ("errorType" in document or "errorMessage" in document)
