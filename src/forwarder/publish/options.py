"""`PublishOptions`: what one publisher is made with (the target's limits, the settings' concurrency and attempts),
apart from the publisher so that its parts (the scheduler) can name it without importing the publisher."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from forwarder.targets.limits import MAX_ENTRIES_PER_REQUEST


@dataclass(slots=True)
class PublishOptions:
    max_request_bytes: int
    max_concurrency: int
    max_attempts: int
    max_entries: int = MAX_ENTRIES_PER_REQUEST
    rng: random.Random = field(default_factory=random.Random)
    concurrency_mode: str = "adaptive"  # or "fixed": always max_concurrency in flight (concurrency.py)
