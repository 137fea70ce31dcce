"""A bus in another account or region, named by its ARN: its requests are signed for the bus's region and
sent to that region's endpoint.

The signing region is read from the SigV4 credential scope the fault endpoint receives. The endpoint is the
one botocore resolves with AWS_ENDPOINT_URL unset; nothing leaves the machine: a local peer stands in as
the HTTPS proxy and records the host each request asks to be connected to, then refuses it.
"""

from __future__ import annotations

import re
import socket
import time

import botocore.exceptions
import pytest

from forwarder.config.settings import Settings
from forwarder.targets.buses import target_for
from forwarder_testing.events import sqs_event
from forwarder_testing.raw_server import RawServer

pytestmark = pytest.mark.integration

FOREIGN_BUS = "arn:aws:events:eu-west-1:210987654321:event-bus/central"
FOREIGN_CUSTOM_BUS = "arn:aws:events:ap-southeast-2:210987654321:event-busv2/central/abcdefghijklmnopqrstuvwxy"
ENTRY = {"Source": "my.app", "DetailType": "Thing", "Detail": "{}"}


def signed_region(authorization: str) -> str:
    """The region of a SigV4 Authorization header's credential scope (key/date/REGION/service/aws4_request)."""
    return re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", authorization).group(1)


def test_a_foreign_classic_bus_is_signed_for_its_region_and_named_by_its_arn(cold_start, endpoint, context):
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, EVENT_BUS_NAME=FOREIGN_BUS)
    assert forwarder(sqs_event(['{"a": 1}']), context) == {"batchItemFailures": []}
    (signing,) = endpoint.recent_signing()
    assert signed_region(signing["request"]["headers"]["Authorization"]) == "eu-west-1"
    assert [entry["EventBusName"] for entry in endpoint.accepted()] == [FOREIGN_BUS]


def test_a_bus_named_by_its_name_is_signed_for_the_functions_region(cold_start, endpoint, context):
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, EVENT_BUS_NAME="orders")
    assert forwarder(sqs_event(['{"a": 1}']), context) == {"batchItemFailures": []}
    (signing,) = endpoint.recent_signing()
    assert signed_region(signing["request"]["headers"]["Authorization"]) == "us-east-1"


def test_a_foreign_custom_event_bus_is_signed_for_its_region(cold_start, endpoint, context):
    forwarder = cold_start(AWS_ENDPOINT_URL=endpoint.url, EVENT_BUS_NAME=FOREIGN_CUSTOM_BUS)
    assert forwarder(sqs_event(['{"a": 1}']), context) == {"batchItemFailures": []}
    (signing,) = endpoint.recent_signing()
    assert (signing["service"], signing["region"]) == ("events", "ap-southeast-2")
    assert [entry["EventBusArn"] for entry in endpoint.accepted_v2()] == [FOREIGN_CUSTOM_BUS]


class ConnectRecorder(RawServer):
    """An HTTPS proxy that records each CONNECT request line and refuses it: nothing is forwarded."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        super().__init__()

    def serve(self, sock: socket.socket) -> None:
        with sock:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
            self.lines.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
            sock.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@pytest.fixture
def proxy(monkeypatch):
    server = ConnectRecorder()
    for name in ("AWS_ENDPOINT_URL", "NO_PROXY", "no_proxy", "https_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)  # any of the last four would bypass HTTPS_PROXY
    monkeypatch.setenv("HTTPS_PROXY", server.url)
    yield server
    server.close()


@pytest.mark.parametrize(
    ("bus", "host"),
    [
        (FOREIGN_BUS, "events.eu-west-1.amazonaws.com:443"),
        ("orders", "events.us-east-1.amazonaws.com:443"),
        # botocore's eventbridgev2 rules route by the bus owner's account (from the ARN), in the client's region
        (FOREIGN_CUSTOM_BUS, "210987654321.eventsv2.ap-southeast-2.amazonaws.com:443"),
    ],
)
def test_requests_go_to_the_endpoint_of_the_buss_own_region(proxy, bus, host):
    target = target_for(Settings.from_env({"EVENT_SOURCE": "s", "EVENT_DETAIL_TYPE": "t", "EVENT_BUS_NAME": bus}))
    with pytest.raises(botocore.exceptions.BotoCoreError):  # the proxy refuses to connect anywhere
        target.send([ENTRY], time.monotonic() + 5)
    assert proxy.lines and set(proxy.lines) == {f"CONNECT {host} HTTP/1.1"}


def test_without_a_proxy_the_wire_path_aims_at_the_buss_region(monkeypatch):
    # What is resolved, not sent: the classic target's request URL.
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    target = target_for(Settings.from_env({"EVENT_SOURCE": "s", "EVENT_DETAIL_TYPE": "t",
                                           "EVENT_BUS_NAME": FOREIGN_BUS}))
    assert target.send.url == "https://events.eu-west-1.amazonaws.com/"
