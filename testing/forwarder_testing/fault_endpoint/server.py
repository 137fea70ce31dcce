"""The fault endpoint served: ``FaultEndpoint`` in a background thread, ``main`` as its own process.

``main`` is what ``python -m forwarder_testing.eventbridge_endpoint`` runs: it prints the URL as its first
stdout line (``EndpointProcess`` waits for it) and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import copy
import json
import signal
import threading
from http.server import ThreadingHTTPServer
from typing import Any

from .config import FaultConfig
from .handler import Handler
from .state import FaultState


class EndpointServer(ThreadingHTTPServer):
    daemon_threads = True  # hanging answers must not keep the process or a test alive
    request_queue_size = 256  # botocore pools open many connections at once

    def __init__(self, address: tuple[str, int], state: FaultState):
        super().__init__(address, Handler)
        self.state = state


class FaultEndpoint:
    """The endpoint in a background thread: ``with FaultEndpoint(latency_ms=10) as ep: ep.url``."""

    def __init__(self, config: FaultConfig | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 **config_changes: Any):
        config = copy.deepcopy(config or FaultConfig())
        config.update(config_changes)
        self.state = FaultState(config)
        self._address = (host, port)
        self._server: EndpointServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the endpoint is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultEndpoint:
        self.state.stopping.clear()
        self._server = EndpointServer(self._address, self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fault-endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.state.stopping.set()  # wakes handlers holding a slow or hanging answer
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> FaultEndpoint:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Merge config keys (see FaultConfig); returns the whole config."""
        return self.state.configure(changes)

    def reset(self) -> None:
        """Forget accepted entries and stats, and go back to the config given at construction."""
        self.state.reset()

    def accepted(self, since: int = 0) -> list[dict[str, Any]]:
        return self.state.accepted_since(since)

    def accepted_details(self) -> list[Any]:
        """The Detail of each accepted entry, parsed."""
        return [json.loads(entry["Detail"]) for entry in self.accepted()]

    def ambiguous(self, since: int = 0) -> list[str]:
        """EventIds of entries accepted in requests whose answer the client may not have seen."""
        return self.state.ambiguous_since(since)

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    def accepted_v2(self, since: int = 0) -> list[dict[str, Any]]:
        """Only the eventbridgev2 entries of accepted() (those with "Api": "eventbridgev2")."""
        return self.state.accepted_v2_since(since)

    def recent_signing(self) -> list[dict[str, Any]]:
        """Signature scheme, X-Amz-Region-Set, EndpointId, headers and body of the last 256 PutEvents requests."""
        return self.state.recent_signing()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fault-injecting EventBridge PutEvents endpoint")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", default="{}", help="JSON object of extra config keys")
    args = parser.parse_args(argv)
    config = FaultConfig(seed=args.seed, latency_ms=args.latency_ms)
    config.update(json.loads(args.config))
    endpoint = FaultEndpoint(config, host=args.host, port=args.port).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(endpoint.url, flush=True)
    stop.wait()
    endpoint.stop()
    return 0
