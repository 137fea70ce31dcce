"""The fault endpoint (``eventbridge_endpoint``) as its own process, read through its control routes.

The one way to run it outside the caller's process (benchmarks, the soak, tests that need it apart):
its threads then do not share the caller's GIL. In-process, use ``FaultEndpoint`` itself; both offer
the same reading methods (accepted, accepted_v2, ambiguous, stats, configure, reset)::

    with EndpointProcess({"record_accepted": False}, latency_ms=10) as ep:
        ...  # boto3.client("events", endpoint_url=ep.url, ...)
        ep.stats()
    ep.returncode  # 0: it stopped cleanly on SIGTERM
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from typing import Any


class EndpointProcess:
    """``python -m forwarder_testing.eventbridge_endpoint`` as a child; its first stdout line is the URL."""

    def __init__(self, config: dict[str, Any] | None = None, latency_ms: float = 0.0):
        self.config = config or {}
        self.latency_ms = latency_ms
        self.process: subprocess.Popen | None = None
        self.returncode: int | None = None
        self.url = ""

    def __enter__(self) -> EndpointProcess:
        command = [sys.executable, "-m", "forwarder_testing.eventbridge_endpoint", "--port", "0",
                   "--latency-ms", str(self.latency_ms), "--config", json.dumps(self.config)]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip() if self.process.stdout else ""
        if not line.startswith("http://127.0.0.1:"):
            self.__exit__()
            raise RuntimeError(f"the endpoint did not start (first line {line!r})")
        self.url = line
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.returncode = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.returncode = self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self.process = None

    def _call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method="GET" if data is None else "POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback URL we started
            return json.loads(response.read())

    def _paged(self, route: str, key: str, since: int) -> list[Any]:
        """Every item of a paged control route from index `since` on."""
        items: list[Any] = []
        while page := self._call(f"{route}?since={since + len(items)}")[key]:
            items.extend(page)
        return items

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Merge config keys (see FaultConfig); returns the whole config."""
        return self._call("/_fault/config", changes)

    def reset(self) -> None:
        self._call("/_fault/reset", {})

    def accepted(self, since: int = 0) -> list[dict[str, Any]]:
        return self._paged("/_fault/accepted", "entries", since)

    def accepted_v2(self, since: int = 0) -> list[dict[str, Any]]:
        return self._paged("/_fault/accepted_v2", "entries", since)

    def ambiguous(self, since: int = 0) -> list[str]:
        return self._paged("/_fault/ambiguous", "event_ids", since)

    def stats(self) -> dict[str, Any]:
        return self._call("/_fault/stats")
