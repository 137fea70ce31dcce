"""The function's process: the environment Lambda gives a function, the runtime client started in it,
and its logs copied to our stderr.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from forwarder.config.settings import ENVIRONMENT_VARIABLES

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


def stop(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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


def start_function(
    args: argparse.Namespace, code_root: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], threading.Thread]:
    """``python -m awslambdaric <handler>`` in the code root, as Lambda starts it, and the thread
    copying its logs."""
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
    return child, copier
