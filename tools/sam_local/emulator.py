"""The local AWS a `sam local` container talks to: moto on the host's Docker bridge address, with the target
bus tapped (``BusTap``), the quarantine queue and the claim check's bucket, and the function's environment
(the ``--env-vars`` file) that points the function at it through ``host.docker.internal``.

A container reaches the host only at the bridge address (``--add-host host.docker.internal:host-gateway``);
moto listens there and nowhere else, and the function is given no other endpoint.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from forwarder_testing.bus_tap import BusTap
from tools.local_invoke.function import DEMO_DEFAULTS, DUMMY_CREDENTIALS, FORWARDER_SETTINGS

FUNCTION = "ForwarderFunction"  # the function's logical id in template.yaml
CONTAINER_HOST = "host.docker.internal"
DEFAULT_BUS = "forwarder-local-bus"


@dataclass
class LocalAws:
    """What was made on the emulator for one run, and the function's view of it."""

    url: str  # as the host reaches it (the bridge address)
    bus: str
    tap: BusTap | None
    quarantine_url: str = ""
    bucket: str = ""
    clients: dict = field(default_factory=dict)

    @property
    def container_url(self) -> str:
        """The emulator's URL as the function in its container reaches it."""
        port = self.url.rsplit(":", 1)[1]
        return f"http://{CONTAINER_HOST}:{port}"

    def function_environment(self, overrides: dict[str, str]) -> dict[str, str]:
        """The ForwarderFunction variables of the --env-vars file: the emulator, its bus, queue and bucket;
        the forwarder's settings set in our environment (as `make invoke` passes them); then `overrides`."""
        env = {
            **DEMO_DEFAULTS,
            "AWS_ENDPOINT_URL": self.container_url,
            "EVENT_BUS_NAME": self.bus,
            "POISON_QUEUE_URL": self.quarantine_url.replace(self.url, self.container_url),
            "LARGE_PAYLOAD_BUCKET": self.bucket,
        }
        env.update({name: value for name, value in os.environ.items() if name in FORWARDER_SETTINGS})
        env.update(overrides)
        return env


def session(region: str):
    import boto3  # the tool runs in the project's venv

    return boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )


def prepare(url: str, region: str, bus: str, tap: bool = True) -> LocalAws:
    """The bus (tapped, unless tap=False: then it is not even created), the quarantine queue, the bucket."""
    aws = session(region)
    clients = {name: aws.client(name, endpoint_url=url) for name in ("events", "sqs", "s3")}
    suffix = secrets.token_hex(4)
    bus_tap = BusTap(clients["events"], clients["sqs"], bus, name=f"sam-local-tap-{suffix}").open() if tap else None
    quarantine = clients["sqs"].create_queue(QueueName=f"forwarder-local-quarantine-{suffix}")["QueueUrl"]
    bucket = f"forwarder-local-payloads-{suffix}"
    clients["s3"].create_bucket(Bucket=bucket)
    return LocalAws(url=url, bus=bus, tap=bus_tap, quarantine_url=quarantine, bucket=bucket, clients=clients)


def write_env_vars(path: Path, variables: dict[str, str]) -> Path:
    """The --env-vars file: values for the variables the template declares, for the one function."""
    path.write_text(json.dumps({FUNCTION: variables}, indent=1))
    return path
