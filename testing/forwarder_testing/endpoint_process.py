"""The project's fault-injecting PutEvents endpoint (tests/fakes) in its own process, for benchmarks."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class EndpointProcess:
    """`with EndpointProcess() as ep: ep.set_latency(10); ep.url`. Keeps counts only, not entries."""

    def __init__(self, latency_ms: float = 0.0):
        self.latency_ms = latency_ms
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> EndpointProcess:
        config = json.dumps({"record_accepted": False})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "forwarder_testing.eventbridge_endpoint", "--port", "0",
             "--latency-ms", str(self.latency_ms), "--config", config],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline().strip() if self.process.stdout else ""
        if not line.startswith("http://127.0.0.1:"):
            self.__exit__()
            raise RuntimeError(f"the endpoint did not start (first line {line!r})")
        self.url = line
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    def _call(self, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method="GET" if data is None else "POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback URL we started
            return json.loads(response.read())

    def set_latency(self, latency_ms: float) -> None:
        self.latency_ms = latency_ms
        self._call("/_fault/config", {"latency_ms": latency_ms})

    def stats(self) -> dict:
        return self._call("/_fault/stats")
