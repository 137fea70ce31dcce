"""Every request the forwarder sends names the project and its version in its User-Agent, as the endpoint sees it.

The version is pyproject.toml's, read here on its own; the requests go over HTTP to the fault endpoint: the
handler's own wire path (classic bus), botocore's path through a global endpoint, the Custom Event Bus
(eventbridgev2), and the library's put_events.
"""

from __future__ import annotations

import tomllib

import pytest

from forwarder import put_events
from forwarder.net.clients import create_client
from forwarder_testing.events import sqs_event
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
APP_ID = f"app/eventbridge-forwarder#{VERSION}"
CUSTOM_BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"


def user_agents(endpoint) -> list[str]:
    return [signing["request"]["headers"]["User-Agent"] for signing in endpoint.recent_signing()]


@pytest.mark.parametrize(
    "env",
    [{}, {"EVENT_ENDPOINT_ID": "abcde.veo"}, {"EVENT_BUS_NAME": CUSTOM_BUS}],
    ids=["classic-bus-wire-path", "global-endpoint-botocore", "custom-event-bus"],
)
def test_the_handlers_requests_carry_the_project_and_its_version(endpoint, cold_start, context, env):
    handler = cold_start(AWS_ENDPOINT_URL=endpoint.url, **env)
    assert handler(sqs_event(['{"n": 1}', '{"n": 2}']), context) == {"batchItemFailures": []}
    agents = user_agents(endpoint)
    assert agents and all(APP_ID in agent.split() for agent in agents), agents


def test_the_librarys_requests_carry_it_too(endpoint):
    client = create_client("events", 4, endpoint_url=endpoint.url)
    results = put_events([{"Source": "lib", "DetailType": "T", "Detail": {}}], client=client)
    assert results == [{"EventId": results[0]["EventId"]}]
    assert APP_ID in user_agents(endpoint)[-1].split()
