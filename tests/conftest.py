from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from forwarder_testing.eventbridge_endpoint import FaultEndpoint
from forwarder_testing.lambda_context import LambdaContext
from forwarder_testing.local_aws import moto_server, reset

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"

# Tests never reach AWS: dummy credentials, a fixed region, and no host but 127.0.0.1.
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - not a secret
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "EVENT_SOURCE": "test.forwarder",
    "EVENT_DETAIL_TYPE": "TestEvent",
    "POWERTOOLS_METRICS_NAMESPACE": "EventForwarderTests",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # a closed port until a test names its endpoint
    # No SQS visibility calls (to that closed port) unless a test turns the backoff on.
    "VISIBILITY_BACKOFF_MAX_SECONDS": "off",
}
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_EVENTBRIDGE", "EVENT_BUS_NAME"):
    os.environ.pop(_name, None)
os.environ.update(BASE_ENV)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(moto_url: str) -> Iterator[str]:
    """A clean moto for one test."""
    reset(moto_url)
    yield moto_url


@pytest.fixture
def clients(aws: str) -> Callable[[str], object]:
    def make(service: str):
        return boto3.client(service, endpoint_url=aws, region_name="us-east-1")

    return make


@pytest.fixture
def cold_start(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Callable[[dict, Any], dict]]:
    """The function as a cold start builds it, with the suite's environment and `env`: a Forwarder from the
    environment behind the handler's Lambda glue. No module is reloaded. The variables stay set for the
    test, as botocore reads its own (AWS_ENDPOINT_URL and the like) from the process environment."""
    from forwarder import handler

    def start(**env: str) -> Callable[[dict, Any], dict]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return handler.entry_point(handler.cold_start(os.environ))

    return start


@pytest.fixture
def endpoint() -> Iterator[FaultEndpoint]:
    """A fault endpoint of its own for one test, with its default configuration (files that need another
    configuration define their own `endpoint`)."""
    with FaultEndpoint() as running:
        yield running


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())
