"""The two calls the publisher is given, as the stages that make them and the publisher that calls them both know
them: a target's `send` (targets/buses.py) and a quarantine's callback (stages/quarantine.py)."""

from collections.abc import Callable
from typing import Any

# `send(entries, deadline)` -> the PutEvents response. `deadline` is on the runtime clock's time line
# (math.inf for none): a sender must not let its request run past it.
Send = Callable[[list[dict], float], Any]
# `quarantine(index, code, message, deadline)` moves item `index` aside; raises if it could not. Like a send,
# it must not run past `deadline`, so that whether the record was moved aside is known when publish returns.
Quarantine = Callable[[int, str, str, float], None]
