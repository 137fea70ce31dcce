"""One function instance of the scale run: a warm Forwarder in its own process, fed a steady stream of batches.

The parent starts it with the function's environment; it builds its Forwarder (the cold start), says
``ready``, and on ``go`` (the stream's length in seconds) forwards batches back to back: the records the
last invocation reported first, as SQS hands them out again, then new ones. When the stream ends it delivers
what is still reported (at most ``DRAIN_INVOCATIONS`` more invocations) and sends back its ``Seen``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from forwarder_testing.events import sqs_record
from forwarder_testing.lambda_context import LambdaContext

DRAIN_INVOCATIONS = 50
TIMEOUT_MS = 60_000


@dataclass
class Seen:
    """What one instance saw; the parent adds them up."""

    sent: int = 0  # distinct records handed to the function
    invocations: int = 0
    reported: int = 0  # records named in batchItemFailures, redeliveries included
    exhausted: int = 0  # of those, reported after MAX_ATTEMPTS sends
    requests: int = 0  # PutEvents requests the publisher sent
    latencies: list[float] = field(default_factory=list)  # seconds per invocation of the stream
    left_reported: list[str] = field(default_factory=list)  # keys still reported when draining gave up
    final_limit: int = 0


class Tally:
    """A Reporter that counts instead of logging: the forwarder's own outcomes, per invocation."""

    def __init__(self, seen: Seen, max_attempts: int):
        self._seen, self._max_attempts = seen, max_attempts

    def rejected(self, error: Exception) -> None:
        raise error  # the run's events are well formed: a rejection is a bug in the run

    def published(self, source: str, records: Any, publication: Any, *details: Any) -> None:
        """As `forwarder.function.report.Reporter.published`; what else it is given (`details`) is not counted here."""
        self._seen.requests += publication.requests
        failed = [outcome for outcome in publication.outcomes if not outcome.settled]
        self._seen.reported += len(failed)
        self._seen.exhausted += sum(outcome.attempts >= self._max_attempts for outcome in failed)


def main(env: dict[str, str], number: int, batch_size: int, connection: Any) -> None:
    """The process: a cold start, then one stream on ``go``."""
    os.environ.update(env)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing of the function's is wanted on the run's output
    from forwarder.config.settings import Settings
    from forwarder.function.forwarder import build_forwarder

    seen = Seen()
    forwarder = build_forwarder(os.environ, Tally(seen, Settings.from_env(os.environ).max_attempts))
    connection.send("ready")
    stream(forwarder, seen, number, batch_size, connection.recv())
    seen.final_limit = forwarder.publisher.limit.limit
    connection.send(seen)


def stream(forwarder: Any, seen: Seen, number: int, batch_size: int, seconds: float) -> None:
    """Batches back to back for `seconds`, then only the reported records until none is left."""
    reported: list[str] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        new = [f"i{number}-{seen.sent + n}" for n in range(batch_size - len(reported))]
        seen.sent += len(new)
        started = time.perf_counter()
        reported = invoke(forwarder, seen, [*reported, *new])
        seen.latencies.append(time.perf_counter() - started)
    for _ in range(DRAIN_INVOCATIONS):
        if not reported:
            break
        reported = invoke(forwarder, seen, reported)
    seen.left_reported = reported


def invoke(forwarder: Any, seen: Seen, keys: list[str]) -> list[str]:
    """One invocation of these records (message id = key); returns the keys it reported."""
    event = {"Records": [sqs_record(json.dumps({"key": key}), message_id=key) for key in keys]}
    seen.invocations += 1
    response = forwarder.handle(event, LambdaContext(timeout_ms=TIMEOUT_MS))
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]
