"""``FaultState``: what every connection of one fault endpoint shares, under one lock.

The config (and the one it started with, for reset), the RNG and the schedules that decide each fault, the
accepted entries of both APIs in order (numbered by one EventId counter), the stats, how recent requests
were signed (each API notes its own), and the eventbridgev2 dedup window (``v2.py`` reads and fills it).
Draws happen under the lock, so a seeded run gives the same faults in the same order.
"""

from __future__ import annotations

import copy
import random
import threading
from collections import Counter, deque
from typing import Any

from .config import FaultConfig
from .quota import QUOTA_KEYS, Quota
from .validation import ENTRY_MESSAGES

V2_API = "eventbridgev2"  # the "Api" of accepted eventbridgev2 entries and the key of their stats
V2_STATS = ("requests", "entries_received", "entries_accepted", "entries_deduplicated", "raw_entries_received")


class FaultState:
    """Config, RNG, accepted entries and stats, shared by all handler threads under one lock."""

    def __init__(self, config: FaultConfig):
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.initial = copy.deepcopy(config)
        self.config = copy.deepcopy(config)
        self._reset_locked()

    def _reset_locked(self) -> None:
        self.rng = random.Random(self.config.seed)
        self.accepted: list[dict[str, Any]] = []
        self.accepted_count = 0
        self.ambiguous: list[str] = []  # EventIds accepted under an AMBIGUOUS_FAULT_KINDS fault
        self.requests = 0
        self.connections = 0  # accepted
        self.entries_received = 0
        self.faults: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.signing: deque[dict[str, Any]] = deque(maxlen=256)  # how recent requests were signed
        # eventbridgev2 (v2.py): dedup key -> (expires, EventId, SequenceNumber), and a heap of
        # (expires, key) to drop expired keys in expiry order
        self.dedup_window: dict[Any, tuple[float, str, str]] = {}
        self.dedup_expiry: list[tuple[float, Any]] = []
        self.v2_counts: Counter[str] = Counter()
        self.quota = Quota(self.config)

    def reset(self) -> None:
        """Back to the starting config, with no accepted entries, no stats and a reseeded RNG."""
        with self.lock:
            self.config = copy.deepcopy(self.initial)
            self._reset_locked()

    def config_dict(self) -> dict[str, Any]:
        with self.lock:
            return self.config.to_dict()

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.config.update(changes)
            if "seed" in changes:
                self.rng = random.Random(self.config.seed)
            if QUOTA_KEYS & set(changes):
                self.quota = Quota(self.config)
            return self.config.to_dict()

    # -- the draws (caller holds the lock unless said otherwise) -------------------------------------

    def _draw(self, schedule: list[Any], table: dict[str, float]) -> Any:
        """Next scheduled item if any, else one drawn by probability, else None."""
        if schedule:
            return schedule.pop(0)
        if not table:
            return None  # the fast path: no RNG work when no faults are configured
        roll, total = self.rng.random(), 0.0
        for kind, probability in table.items():
            total += probability
            if roll < total:
                return kind
        return None

    def request_fault(self) -> str | None:
        """Count a PutEvents request and draw its fault kind (takes the lock)."""
        with self.lock:
            self.requests += 1
            kind = self._draw(self.config.request_schedule, self.config.request_faults)
            if kind in (None, "ok"):
                return None
            self.faults[kind] += 1
            return kind

    def entry_fault(self, detail: str) -> dict[str, str] | None:
        """The injected failure of an entry that passed validation, counted; None accepts it."""
        code = self._injected_entry_code(detail)
        if not code:
            return None
        self.faults[f"entry:{code}"] += 1
        return {"ErrorCode": code, "ErrorMessage": ENTRY_MESSAGES.get(code, "Injected failure.")}

    def _injected_entry_code(self, detail: str) -> str | None:
        for rule in self.config.detail_rules:
            if rule["contains"] in detail:
                return rule["code"]
        code = self._draw(self.config.entry_schedule, self.config.entry_faults)
        return None if code in (None, "ok") else code

    def new_event_id(self) -> str:
        """The next EventId, one counter for both APIs: unique and reproducible."""
        self.accepted_count += 1
        return f"00000000-0000-4000-8000-{self.accepted_count:012x}"

    # -- what happened (each takes the lock) ---------------------------------------------------------

    def reject(self, kind: str) -> None:
        with self.lock:
            self.rejections[kind] += 1

    def accepted_since(self, start: int = 0) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(entry) for entry in self.accepted[start:]]

    def accepted_v2_since(self, start: int = 0) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(entry) for entry in self.accepted if entry.get("Api") == V2_API][start:]

    def recent_signing(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.signing)

    def ambiguous_since(self, start: int = 0) -> list[str]:
        with self.lock:
            return self.ambiguous[start:]

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "connections": self.connections,
                "entries_received": self.entries_received,
                "entries_accepted": self.accepted_count,
                "faults": dict(self.faults),
                "rejections": dict(self.rejections),
                "entries_deduplicated": self.v2_counts["entries_deduplicated"],
                V2_API: {**{key: self.v2_counts[key] for key in V2_STATS}, "dedup_keys": len(self.dedup_window)},
            }
