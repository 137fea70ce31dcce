"""Function instances for ``drive``: ``InProcess`` (one execution environment in this process) or
``Workers`` (several processes, each a warm execution environment, as Lambda scales out a function).

Both take events with ``submit(slot, event)`` and give back ``(slot, response or error)`` from ``wait()``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import warnings
from multiprocessing.connection import wait as wait_for_connections
from typing import Any

from forwarder_testing.lambda_context import LambdaContext
from forwarder_testing.simulation.core import Invoke


class InProcess:
    """One warm execution environment in this process: invocations run one at a time."""

    size = 1

    def __init__(self, invoke: Invoke):
        self._invoke = invoke
        self._done: list[tuple[int, dict | BaseException]] = []

    def submit(self, slot: int, event: dict) -> None:
        try:
            self._done.append((slot, self._invoke(event)))
        except Exception as error:  # noqa: BLE001 - Lambda records the error and retries the batch
            self._done.append((slot, error))

    def wait(self) -> list[tuple[int, dict | BaseException]]:
        done, self._done = self._done, []
        return done


def _worker(env: dict[str, str], timeout_ms: int, connection: Any) -> None:
    """One execution environment: a cold start (importing the handler), then invocations on request.

    A spawned process: it finds the forwarder and this package where the parent does, in the venv."""
    os.environ.update(env)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the handler's log and metric lines: not wanted here
    warnings.filterwarnings("ignore", message="No application metrics")  # metrics are disabled on purpose
    import forwarder.handler as handler

    while (event := connection.recv()) is not None:
        try:
            connection.send(handler.lambda_handler(event, LambdaContext(timeout_ms=timeout_ms)))
        except Exception as error:  # noqa: BLE001 - Lambda records the error and retries the batch
            connection.send(RuntimeError(f"{type(error).__name__}: {error}"))


class Workers:
    """Several execution environments, each its own process (as Lambda scales out a function)."""

    def __init__(self, size: int, env: dict[str, str], timeout_ms: int = 30_000):
        self.size = size
        context = multiprocessing.get_context("spawn")
        self._connections = []
        self._processes = []
        for _ in range(size):
            parent, child = context.Pipe()
            process = context.Process(target=_worker, args=(env, timeout_ms, child), daemon=True)
            process.start()
            self._connections.append(parent)
            self._processes.append(process)
        self._busy: set[int] = set()

    def submit(self, slot: int, event: dict) -> None:
        self._busy.add(slot)
        self._connections[slot].send(event)

    def wait(self) -> list[tuple[int, dict | BaseException]]:
        ready = wait_for_connections([self._connections[slot] for slot in self._busy])
        done = []
        for connection in ready:
            slot = self._connections.index(connection)
            self._busy.discard(slot)
            done.append((slot, connection.recv()))
        return done

    def close(self) -> None:
        for connection, process in zip(self._connections, self._processes, strict=True):
            connection.send(None)
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
