"""botocore clients, configured once for the way the forwarder uses them.

The endpoint is never ours to set: botocore reads AWS_ENDPOINT_URL and the per-service
AWS_ENDPOINT_URL_EVENTBRIDGE / AWS_ENDPOINT_URL_SQS itself.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session
from botocore.config import Config

# PutEvents answers in tens of milliseconds; a socket that says nothing for this long is stuck.
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 5
# botocore's standard mode: retries throttling, 5xx and connection errors with jittered backoff.
REQUEST_ATTEMPTS = 3


def create_client(
    service: str, max_concurrency: int, *, validate: bool = True, session: Any = None, **overrides: Any
) -> Any:
    """A client whose connection pool is as large as the requests kept in flight through it.

    `validate=False` skips botocore's client-side parameter validation: only for callers whose own
    code guarantees what it checks (types, required members, minimum lengths), like the handler's.
    `session`: the botocore session to make it from (a new one by default).
    """
    config = Config(
        parameter_validation=validate,
        max_pool_connections=max_concurrency,
        retries={"mode": "standard", "max_attempts": REQUEST_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        tcp_keepalive=True,
        user_agent_appid="eventbridge-forwarder",
    )
    session = session or botocore.session.get_session()
    return session.create_client(service, config=config, **overrides)


_scope = threading.local()


@contextmanager
def bounded_by(deadline: float) -> Iterator[None]:
    """Calls made on this thread inside the block must not run past `deadline` (time.monotonic()).

    A botocore call takes no per-call time limit, so the limit travels beside it, per thread (each
    request of the publisher runs on a pool thread of its own); nested blocks keep the earlier limit.
    """
    previous = current_deadline()
    _scope.deadline = min(previous, deadline)
    try:
        yield
    finally:
        _scope.deadline = previous


def current_deadline() -> float:
    """The limit set by the innermost `bounded_by` on this thread; math.inf outside any."""
    return getattr(_scope, "deadline", math.inf)
