"""PutEvents on the wire: the handler's request path to a classic event bus.

A botocore `put_events` call spends most of its CPU on work the forwarder does not need per
request: walking the service model to serialize (and convert every Time), resolving endpoint
rules, rebuilding the User-Agent string, some twenty event hooks, and urllib3's and botocore's
request and response wrappers: several times the CPU of writing the bytes, and CPU is what a busy
forwarder runs out of (BENCHMARKS.md).
The entries are already in the shape botocore's validator accepts (tests prove it), so this path
writes the JSON body itself, sends it on keep-alive connections (connections.py), and takes every
other piece from botocore:

- the endpoint URL, region, signing name and timeouts the client resolved (AWS_ENDPOINT_URL*,
  FIPS and dual-stack settings included), and the CA bundle botocore would verify TLS with;
- the session's refreshing credentials, for a SigV4 signature that tests compare with botocore's
  own signer (signing.py says why not botocore's); the recursion-detection
  header by botocore's own handler;
- errors parsed by botocore's JSON parser into the same ClientError the client raises, and
  botocore's exceptions for connections that fail;
- botocore's own HTTP session (the client's), when a proxy applies to the endpoint (then only its
  socket timeouts bound a request, not the deadline; the answer is still read within
  http1.MAX_ANSWER_BYTES).

The body is UTF-8 JSON, not botocore's all-ASCII escapes: AWS's size formula counts UTF-8, and
escaping would send up to twice the bytes it counted (a request refused with 413). Each request
ends by the invocation's deadline (connections.py says how).

Left out on purpose: botocore's request-level retries. The publisher retries what failed, per
entry, with full jitter and never past the invocation's deadline; a second retry loop inside a
request would multiply the attempts and hold a pool thread through its sleeps (for the botocore
paths below, clients.py keeps those sleeps within the deadline).
Global endpoints (SigV4a, endpoint rules per EndpointId) and the Custom Event Bus (CBOR) keep
botocore's full client path (whose requests clients.py bounds by the deadline in the same way).
"""

from __future__ import annotations

import codecs
import json
import math
import os
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError, NoCredentialsError, ResponseStreamingError
from botocore.handlers import add_recursion_detection_header
from botocore.parsers import ResponseParserError, create_parser
from botocore.useragent import UserAgentString
from botocore.utils import get_environ_proxies

from forwarder.core import fast_json
from forwarder.net import http1
from forwarder.net.connections import ConnectionPool, Response, ca_bundle
from forwarder.net.signing import SigV4, host_header

OPERATION = "PutEvents"


class WirePutEvents:
    """`send` for the publisher: `WirePutEvents(session, client)(entries, deadline) -> PutEvents response`.

    `client` is a botocore `events` client made from `session`; only its resolved settings (and,
    behind a proxy, its HTTP session) are used.
    """

    def __init__(self, session: Any, client: Any):
        meta = client.meta
        model = meta.service_model
        self._credentials = session.get_credentials()
        self.url = operation_url(meta.endpoint_url)
        self._signer = SigV4(self.url, meta.region_name, model.signing_name)
        self._operation = model.operation_model(OPERATION)
        self._parser = create_parser(model.metadata["protocol"])
        self._headers = {
            "Host": host_header(self.url),  # sent as signed, whatever the HTTP client would derive
            "Content-Type": f"application/x-amz-json-{model.metadata['jsonVersion']}",
            "X-Amz-Target": f"{model.metadata['targetPrefix']}.{OPERATION}",
            # Built once: botocore rebuilds this string for every request.
            "User-Agent": UserAgentString.from_environment().with_client_config(meta.config).to_string(),
        }
        self._trace = _TraceHeader()
        self._pool: ConnectionPool | None = None  # none behind a proxy: botocore's session sends then
        if get_environ_proxies(self.url):
            self._send = _through_botocore(client, self.url)
        else:
            self._pool = ConnectionPool(
                self.url, meta.config.connect_timeout, meta.config.read_timeout, ca_bundle(session)
            )
            self._send = self._pool.post

    def __call__(self, entries: list[dict], deadline: float = math.inf) -> dict:
        headers = self._trace.headers(self._headers)
        body = request_body(entries)
        if self._credentials is None:
            raise NoCredentialsError()  # as botocore's client would, per request
        self._signer.sign(headers, body, self._credentials.get_frozen_credentials())  # refreshed near expiry
        status, headers, body = self._send(body, headers, deadline)
        return self._answer(status, headers, body)

    def close_connections(self) -> None:
        """Close the idle keep-alive connections (the client's own session, behind a proxy, is the client's)."""
        if self._pool is not None:
            self._pool.close()

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> Any:
        """A 2xx's JSON, whatever its shape (the publisher settles what is not PutEvents' answer), else the
        ClientError botocore's client raises, with the HTTP status, so that a 5xx stays retryable."""
        if 200 <= status < 300:
            try:
                return fast_json.loads(body)  # json.loads' value or error, in a third of its CPU
            except (ValueError, RecursionError) as error:  # not JSON, not UTF-8, or nested beyond Python's stack
                raise ResponseParserError(f"the HTTP {status} answer is not JSON ({type(error).__name__})") from None
        raise ClientError(self._error_response(status, headers, body), OPERATION)

    def _error_response(self, status: int, headers: dict[str, str], body: bytes) -> dict:
        """botocore's parse of an error answer. Its parser raises on bodies that are JSON but not an object
        (`[]`, `null`), a `__type` that is not text, or bytes that are not UTF-8; those are read as an empty
        body, as botocore reads one: the code from x-amzn-ErrorType or the status, and the status kept."""
        for candidate in (body, b""):
            try:
                parsed = self._parser.parse(
                    {"status_code": status, "headers": headers, "body": candidate}, self._operation.output_shape
                )
            except Exception:  # noqa: BLE001, S112 - any body botocore cannot read: try the empty one
                continue
            if isinstance(parsed, dict):
                return parsed
        return {"Error": {"Code": str(status), "Message": ""}, "ResponseMetadata": {"HTTPStatusCode": status}}


class _TraceHeader:
    """The request's headers with the recursion-detection header botocore's handler adds (the invocation's trace
    id, inside Lambda), made by that handler once per trace id and environment: a request of the same invocation
    copies the headers it made (its quoting of the id costs as much as the rest of a request's headers)."""

    def __init__(self) -> None:
        self._made: tuple[str | None, bool, dict[str, str], dict[str, str]] = (None, False, {}, {})

    def headers(self, base: dict[str, str]) -> dict[str, str]:
        """A copy of `base` with the header, if botocore's handler adds one now."""
        trace_id, in_lambda = os.environ.get("_X_AMZN_TRACE_ID"), "AWS_LAMBDA_FUNCTION_NAME" in os.environ
        made_id, made_in_lambda, made_base, made = self._made  # one tuple, swapped whole: threads read a whole one
        if made_id != trace_id or made_in_lambda != in_lambda or made_base is not base:
            made = dict(base)
            add_recursion_detection_header({"headers": made})  # reads the same environment
            self._made = (trace_id, in_lambda, base, made)
        return dict(made)


def operation_url(endpoint_url: str) -> str:
    """Where botocore sends an operation whose request URI is "/": the endpoint's own path, or "/"."""
    return endpoint_url if urlsplit(endpoint_url).path else endpoint_url + "/"


def request_body(entries: list[dict]) -> bytes:
    """The JSON botocore's serializer would send for these entries (tests compare the two), compact.

    Written as UTF-8, as AWS's size formula counts it (botocore escapes every non-ASCII character,
    up to six bytes for three), except lone surrogates, which UTF-8 cannot encode: those stay
    \\u escapes, so the text parses to the same value either way.

    Written by orjson when it writes these very bytes (fast_json.dumps: the entries the handler makes), else
    by `stdlib_request_body`.
    """
    return fast_json.dumps({"Entries": entries}) or stdlib_request_body(entries)


def stdlib_request_body(entries: list[dict]) -> bytes:
    """`request_body` by the standard library's json alone: any entries, Time as a datetime too."""
    text = json.dumps({"Entries": entries}, separators=(",", ":"), default=_epoch_seconds, ensure_ascii=False)
    return text.encode("utf-8", _ESCAPE_SURROGATES)


def _escape_surrogates(error: UnicodeEncodeError) -> tuple[str, int]:
    """Codec error handler: unencodable characters (only lone surrogates, for UTF-8) as JSON escapes.

    A raw character in json.dumps' output is always inside a string literal, so its escape means the same.
    """
    bad = error.object[error.start:error.end]
    return "".join(f"\\u{ord(char):04x}" for char in bad), error.end


_ESCAPE_SURROGATES = "forwarder-json-escape"
codecs.register_error(_ESCAPE_SURROGATES, _escape_surrogates)


def _epoch_seconds(value: Any) -> float:
    """Time on the wire is epoch seconds, as botocore's JSON serializer writes it."""
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _through_botocore(client: Any, url: str) -> Any:
    """Send to `url` on the client's own HTTP session: its proxy settings, pool and TLS."""
    session = client._endpoint.http_session  # botocore has no public handle on it

    def send(body: bytes, headers: dict[str, str], deadline: float) -> Response:
        # Not bounded by `deadline` (connections.py does not speak proxies); the publisher still
        # stops waiting at the deadline, and never starts a request after it.
        # Streamed: botocore would read the whole body, however long; it is read here within the bound.
        request = AWSRequest(method="POST", url=url, data=body, headers=headers, stream_output=True)
        response = session.send(request.prepare())
        try:
            data = http1.up_to_close(response.raw, http1.MAX_ANSWER_BYTES)
        except http1.AnswerTooLarge as error:
            response.raw.close()  # the rest is never read: the connection is not reused
            raise ResponseStreamingError(error=error) from error
        return response.status_code, {k.lower(): v for k, v in response.headers.items()}, data

    return send
