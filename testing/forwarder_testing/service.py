"""An in-memory PutEvents service for property tests of the publisher.

It stands where the network is (the `send` callable the publisher is given) and answers each
entry by a script: the n-th time an entry is sent it gets the script's n-th answer. It checks
every request against the API's limits and remembers everything it saw, so tests can assert
what was sent, how often, and in which order.
"""

from __future__ import annotations

import json
import random
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from forwarder.core.items import Entry
from forwarder.targets.buses import entry_size
from forwarder.targets.limits import MAX_ENTRIES_PER_REQUEST

OK = "OK"


class NoJitter(random.Random):
    """Backoff without waiting, so property tests run many examples quickly."""

    def uniform(self, a: float, b: float) -> float:
        return 0.0


@dataclass
class ScriptedService:
    max_bytes: int
    scripts: dict[int, list[str]]  # entry key -> answers per attempt; OK, or an error code
    sends: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    accepted: list[int] = field(default_factory=list)
    requests: list[list[int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, entries: list[dict], deadline: float = float("inf")) -> dict:
        assert 1 <= len(entries) <= MAX_ENTRIES_PER_REQUEST
        assert sum(entry_size(e) for e in entries) < self.max_bytes
        results = []
        with self._lock:
            keys = [json.loads(e["Detail"])["key"] for e in entries]
            self.requests.append(keys)
            for key in keys:
                attempt = self.sends[key]
                self.sends[key] += 1
                script = self.scripts.get(key, [])
                answer = script[attempt] if attempt < len(script) else OK
                if answer == OK:
                    self.accepted.append(key)
                    results.append({"EventId": f"event-{key}-{attempt}"})
                else:
                    results.append({"ErrorCode": answer, "ErrorMessage": f"scripted {answer}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def make_entry(key: int, group: str | None = None, padding: int = 0) -> Entry:
    fields = {"Source": "s", "DetailType": "t", "Detail": json.dumps({"key": key, "pad": "x" * padding})}
    return Entry(fields, entry_size(fields), group)
