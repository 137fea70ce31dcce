"""``drive``: run an event source against function instances on the source's virtual clock.

Each invocation is one tick; when no instance is busy and nothing is visible, the clock jumps to the
next message that becomes visible (``advance``), so a visibility timeout costs no real time. The
handler's own deadline stays real (its context). ``clock``, if given, is told the source's time before
each invocation (the fault endpoint's deduplication window runs on it: ``virtual_now``).
"""

from __future__ import annotations

from collections.abc import Callable

from forwarder_testing.simulation.core import Batch, Tally
from forwarder_testing.simulation.instances import InProcess, Workers
from forwarder_testing.simulation.kinesis import KinesisSource
from forwarder_testing.simulation.sqs import SqsSource


def drive(
    source: SqsSource | KinesisSource,
    instances: InProcess | Workers,
    max_invocations: int = 10**7,
    clock: Callable[[float], object] | None = None,
) -> Tally:
    """Hand batches to idle instances until the source has nothing left (or the cap is reached)."""
    busy: dict[int, Batch] = {}
    told = None
    while source.tally.invocations < max_invocations:
        for slot in range(instances.size):
            if slot in busy:
                continue
            batch = source.next_batch()
            if batch is None:
                break
            busy[slot] = batch
            now = getattr(source, "now", None)
            if clock is not None and now != told:
                clock(now)
                told = now
            instances.submit(slot, batch.event)
        if not busy:
            if not source.advance():
                break
            continue
        for slot, response in instances.wait():
            source.complete(busy.pop(slot), response)
    return source.tally
