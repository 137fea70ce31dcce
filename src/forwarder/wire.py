"""PutEvents on the wire: the handler's request path to a classic event bus.

A botocore `put_events` call spends most of its CPU on work the forwarder does not need per
request: walking the service model to serialize (and convert every Time), resolving endpoint
rules, rebuilding the User-Agent string, and some twenty event hooks. On a Lambda-sized CPU that
is 2-3 ms per request, several times the cost of the bytes on the wire, and CPU is what a busy
forwarder runs out of (BENCHMARKS.md). The entries are already in the shape botocore's validator
accepts (tests prove it), so this path writes the JSON body itself and takes every other piece
from botocore:

- the endpoint URL, region and signing name the client resolved (AWS_ENDPOINT_URL*, FIPS and
  dual-stack settings included) and the client's own HTTP session: one connection pool with the
  client's timeouts, TLS verification and proxies; connection failures raise botocore's
  exceptions, as from the client;
- SigV4 by botocore's signer for "v4" (CRT's when installed), with the session's refreshing
  credentials; the recursion-detection header by botocore's own handler;
- errors parsed by botocore's JSON parser into the same ClientError the client raises.

Left out on purpose: botocore's request-level retries. The publisher retries what failed, per
entry, with full jitter and never past the invocation's deadline; a second retry loop inside a
request would sleep in a pool thread where the deadline cannot reach it.
Global endpoints (SigV4a, endpoint rules per EndpointId) and the Custom Event Bus (CBOR) keep
botocore's full client path.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.auth import AUTH_TYPE_MAPS
from botocore.awsrequest import AWSRequest
from botocore.endpoint import convert_to_response_dict
from botocore.exceptions import ClientError
from botocore.handlers import add_recursion_detection_header
from botocore.parsers import create_parser
from botocore.useragent import UserAgentString

OPERATION = "PutEvents"


class WirePutEvents:
    """`send` for the publisher: `WirePutEvents(session, client)(entries) -> PutEvents response`.

    `client` is a botocore `events` client made from `session`; only its resolved settings and its
    HTTP session are used.
    """

    def __init__(self, session: Any, client: Any):
        meta = client.meta
        model = meta.service_model
        self._credentials = session.get_credentials()
        self._signer = AUTH_TYPE_MAPS["v4"]
        self._signing = (model.signing_name, meta.region_name)
        self._url = meta.endpoint_url.rstrip("/") + "/"
        self._http = client._endpoint.http_session  # the client's pool, timeouts, TLS and proxies
        self._operation = model.operation_model(OPERATION)
        self._parser = create_parser(model.metadata["protocol"])
        self._headers = {
            "Content-Type": f"application/x-amz-json-{model.metadata['jsonVersion']}",
            "X-Amz-Target": f"{model.metadata['targetPrefix']}.{OPERATION}",
            # Built once: botocore rebuilds this string for every request.
            "User-Agent": UserAgentString.from_environment().with_client_config(meta.config).to_string(),
        }

    def __call__(self, entries: list[dict]) -> dict:
        body = request_body(entries)
        params = {"headers": dict(self._headers)}
        add_recursion_detection_header(params)  # reads the invocation's trace id, as botocore does
        request = AWSRequest(method="POST", url=self._url, data=body, headers=params["headers"])
        credentials = self._credentials.get_frozen_credentials()  # refreshed when near expiry
        self._signer(credentials, *self._signing).add_auth(request)
        response = self._http.send(request.prepare())
        if response.status_code == 200:
            try:
                return json.loads(response.content)
            except ValueError:
                pass  # botocore's parser below reports it as the client would
        parsed = self._parser.parse(
            convert_to_response_dict(response, self._operation), self._operation.output_shape
        )
        if response.status_code >= 300:
            raise ClientError(parsed, OPERATION)
        return parsed


def request_body(entries: list[dict]) -> bytes:
    """The JSON botocore's serializer would send for these entries (tests compare the two), compact."""
    return json.dumps({"Entries": entries}, separators=(",", ":"), default=_epoch_seconds).encode()


def _epoch_seconds(value: Any) -> float:
    """Time on the wire is epoch seconds, as botocore's JSON serializer writes it."""
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
