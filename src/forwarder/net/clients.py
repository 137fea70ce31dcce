"""botocore clients, configured once for the way the forwarder uses them, and bounded by a deadline.

The endpoint is never ours to set: botocore reads AWS_ENDPOINT_URL and the per-service
AWS_ENDPOINT_URL_EVENTBRIDGE / AWS_ENDPOINT_URL_SQS itself.

A botocore call takes no time limit, and its own limits are per socket wait: a peer that
trickles its answer, or answers after the invocation's deadline, keeps the call (and its thread
and socket) going long after the handler returned; an SQS quarantine send that lands then makes
a record both reported and quarantined. So every client made here goes below botocore at two
points, while a deadline is set on the calling thread (`bounded_by`):

- sending: a `before-send` handler takes the request botocore built and signed and sends it on
  the deadline-bounded connections of connections.py (connect, TLS handshake, sends and every
  receive all end by the deadline; a request whose deadline passed is not started), and hands
  botocore the answer as an AWSResponse, which botocore parses, retries and raises on exactly as
  one from its own session (same status, headers and body; botocore's exceptions), its body read
  within http1.MAX_ANSWER_BYTES. Inside `bounded_by(math.inf)` (put_events without a timeout, the
  command) requests go the same way, unbounded in time but not in size. Requests that go through
  a proxy, and calls outside any `bounded_by`, stay on botocore's own session.
- retrying: botocore's standard retry mode may sleep up to 20 s (more with a retry-after header)
  before the next attempt; its decision is kept, but a retry whose sleep would end after the
  deadline is not made (botocore then returns or raises the last answer, as when it runs out
  of attempts).
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.retries import standard
from botocore.utils import get_environ_proxies

from forwarder.net.cbor import write_cbor_bodies
from forwarder.net.connections import ConnectionPool, ca_bundle
from forwarder.net.signing import host_header
from forwarder.version import user_agent_appid

# PutEvents answers in tens of milliseconds; a socket that says nothing for this long is stuck.
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 5
# botocore's standard mode: retries throttling, 5xx and connection errors with jittered backoff.
REQUEST_ATTEMPTS = 3


def create_client(
    service: str, max_concurrency: int, *, validate: bool = True, session: Any = None,
    retries: int = REQUEST_ATTEMPTS, **overrides: Any
) -> Any:
    """A client whose connection pool is as large as the requests kept in flight through it, and whose
    calls inside `bounded_by(deadline)` end by that deadline (see the module docstring).

    `validate=False` skips botocore's client-side parameter validation: only for callers whose own
    code guarantees what it checks (types, required members, minimum lengths), like the handler's.
    `session`: the botocore session to make it from (a new one by default). `retries`: botocore's own
    retries after a call's first try (its `max_attempts`; none for PutEvents, which the publisher retries).
    """
    config = Config(
        parameter_validation=validate,
        max_pool_connections=max_concurrency,
        retries={"mode": "standard", "max_attempts": retries},  # botocore's max_attempts counts retries
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        tcp_keepalive=True,
        user_agent_appid=user_agent_appid(),  # the project and its version, for AWS-side logs
    )
    session = session or botocore.session.get_session()
    client = session.create_client(service, config=config, **overrides)
    bound_by_deadline(client, session)
    if client.meta.service_model.protocol == "smithy-rpc-v2-cbor":
        write_cbor_bodies(client)  # botocore's bytes, at a fraction of its CPU (net/cbor.py)
    return client


# An event of our own on the client's emitter: botocore keeps no other handle on the sender it calls.
CLOSE_CONNECTIONS_EVENT = "forwarder-close-connections"


def bound_by_deadline(client: Any, session: Any) -> None:
    """Make `client`'s requests and retries end by the deadline of `bounded_by` (module docstring)."""
    service = client.meta.service_model.service_id.hyphenize()
    sender = DeadlineSender(client.meta.config, ca_bundle(session))
    client.meta.events.register(f"before-send.{service}", sender)
    client.meta.events.register(f"{CLOSE_CONNECTIONS_EVENT}.{service}", sender.close_connections)
    _bound_retries(client, service)


def close_connections(client: Any) -> None:
    """Close the idle connections of a client made by `create_client`: its deadline-bounded pools and
    botocore's own (urllib3's); the next request connects anew (forwarder.function.snapstart)."""
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.emit(f"{CLOSE_CONNECTIONS_EVENT}.{service}")
    client.close()


_scope = threading.local()


@contextmanager
def bounded_by(deadline: float) -> Iterator[None]:
    """Calls made on this thread inside the block must not run past `deadline` (time.monotonic()).

    A botocore call takes no per-call time limit, so the limit travels beside it, per thread (each
    request of the publisher runs on a pool thread of its own); nested blocks keep the earlier limit.
    `math.inf` sets no limit in time; the requests still go on connections.py, their answers bounded in size.
    """
    previous = getattr(_scope, "deadline", None)
    _scope.deadline = deadline if previous is None else min(previous, deadline)
    try:
        yield
    finally:
        _scope.deadline = previous


def current_deadline() -> float:
    """The limit set by the innermost `bounded_by` on this thread; math.inf outside any."""
    deadline = getattr(_scope, "deadline", None)
    return math.inf if deadline is None else deadline


class DeadlineSender:
    """botocore `before-send` handler: the signed request, sent on connections bounded by the deadline.

    Returns None (botocore sends it itself) outside `bounded_by` and when a proxy applies.
    """

    def __init__(self, config: Config, ca_bundle_path: str | None):
        self._timeouts = (config.connect_timeout, config.read_timeout)
        self._ca_bundle = ca_bundle_path
        self._proxied = bool(config.proxies)
        self._pools: dict[str, ConnectionPool | None] = {}  # by scheme://host:port; None behind a proxy

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        deadline = getattr(_scope, "deadline", None)
        if deadline is None or self._proxied:  # outside any bounded_by, or behind a proxy: botocore's session
            return None
        parts = urlsplit(request.url)
        pool = self._pool(f"{parts.scheme}://{parts.netloc}")
        if pool is None:
            return None
        # Host as signed (the CRT signer adds it, SigV4 derives it from the URL); no Expect: 100-continue
        # (never signed), since the body goes out at once.
        headers = {name: value for name, value in request.headers.items() if name.lower() not in ("host", "expect")}
        headers["Host"] = request.headers.get("host") or host_header(request.url)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        target = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
        status, answer_headers, data = pool.request(request.method, target, body, headers, deadline, request.url)
        return AWSResponse(request.url, status, answer_headers, _Body(data))

    def close_connections(self, **kwargs: Any) -> None:
        for pool in list(self._pools.values()):
            if pool is not None:
                pool.close()

    def _pool(self, origin: str) -> ConnectionPool | None:
        try:
            return self._pools[origin]
        except KeyError:
            pool = None if get_environ_proxies(origin) else ConnectionPool(origin, *self._timeouts, self._ca_bundle)
            return self._pools.setdefault(origin, pool)  # a racing thread's pool may win: it has no connections


class _Body(io.BytesIO):
    """An answer's body as botocore reads it from AWSResponse.raw: `stream()` (or `read()`, when streamed)."""

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.getvalue()


def _bound_retries(client: Any, service: str) -> None:
    """Keep botocore's standard retry decisions, but never sleep past the deadline for a retry."""
    events, event = client.meta.events, f"needs-retry.{service}"
    unique_id = f"retry-config-{service}"  # the id botocore registers its retry handler under
    # botocore keeps no handle on the handler it registered: replace it by an identical one, wrapped.
    events.unregister(event, unique_id=unique_id)
    handler = standard.register_retry_handler(client, client.meta.config.retries.get("total_max_attempts"))
    events.unregister(event, unique_id=unique_id)
    events.register(event, _within_deadline(handler.needs_retry), unique_id=unique_id)


def _within_deadline(needs_retry: Callable[..., float | None]) -> Callable[..., float | bool | None]:
    def needs_retry_within_deadline(**kwargs: Any) -> float | bool | None:
        delay = needs_retry(**kwargs)
        if delay is not None and time.monotonic() + delay >= current_deadline():
            return False  # botocore: no retry; it returns or raises what the last attempt got
        return delay

    return needs_retry_within_deadline
