"""``SqsSource``: an SQS queue (standard or FIFO) behind Lambda's event source mapping.

A visibility timeout, a receive count per message, redelivery of what the handler reported, and past
``max_receive_count`` receives the message moves to the dead-letter queue. FIFO batches hold at most
10 records, and a group's messages come in order (``queues.FifoGroups``). Each batch is one tick of
the source's virtual clock (``now``).

Each receive hands out a receipt handle of its own. With a ``peer`` (``sqs_peer.SqsPeer``, the SQS endpoint
the function's ChangeMessageVisibilityBatch calls reach), a reported message whose visibility the function
set comes back that many seconds later instead of after ``visibility_timeout``. ``tally.recovered`` holds,
for each message reported at least once and then confirmed, the virtual seconds from its first receive to
the receive that confirmed it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from forwarder_testing.events import SENT, sqs_record
from forwarder_testing.simulation.core import Batch, Message, Tally, failed_ids
from forwarder_testing.simulation.queues import FifoGroups, Queued, StandardQueue
from forwarder_testing.simulation.sqs_peer import SqsPeer


class SqsSource:
    def __init__(
        self,
        messages: Iterable[Message],
        *,
        fifo: bool = False,
        batch_size: int = 10,
        visibility_timeout: float = 30,
        max_receive_count: int = 5,
        per_group: int = 2,
        queue: str = "source-queue",
        peer: SqsPeer | None = None,
    ):
        if fifo and batch_size > 10:
            raise ValueError("FIFO event sources take at most 10 records per batch")
        self.fifo = fifo
        self.batch_size = batch_size
        self.visibility_timeout = visibility_timeout
        self.max_receive_count = max_receive_count
        self.peer = peer
        self.queue = queue + (".fifo" if fifo and not queue.endswith(".fifo") else "")
        self.now = 0.0
        self.tally = Tally(parked={"dlq": []})
        self._messages = FifoGroups(per_group) if fifo else StandardQueue()
        for sequence, message in enumerate(messages):
            self._messages.add(Queued(message, str(uuid.UUID(int=sequence + 1)), sequence))

    @property
    def remaining(self) -> int:
        return self._messages.remaining

    def next_batch(self) -> Batch | None:
        taken = self._messages.take(self.now, self.batch_size, self._receive)
        if not taken:
            return None
        self.now += 1
        records = [_lambda_record(queued, self.queue, self.fifo) for queued in taken]
        return Batch({"Records": records}, taken, [queued.message_id for queued in taken])

    def _receive(self, queued: Queued) -> bool:
        """Count a receive, or move the message to the dead-letter queue when it has had its receives."""
        if queued.receives >= self.max_receive_count:
            self.tally.parked["dlq"].append(queued.message.key)
            return False
        queued.receives += 1
        queued.received_at = self.now
        if queued.first_received is None:
            queued.first_received = self.now
        queued.visible_at = float("inf")  # in flight: invisible until the invocation ends
        return True

    def complete(self, batch: Batch, response: dict | BaseException) -> None:
        failed = failed_ids(batch, response, self.tally)
        for queued in batch.items:
            if queued.message_id in failed:
                chosen = self.peer.take(receipt_handle(queued)) if self.peer else None
                queued.visible_at = self.now + (self.visibility_timeout if chosen is None else chosen)
            elif queued.receives > 1:
                self.tally.recovered.append(queued.received_at - (queued.first_received or 0.0))
        self.tally.order_violations += self._messages.settle(batch.items, failed)

    def advance(self) -> bool:
        """Jump the clock to the next message to become visible; False when nothing is left."""
        times = [t for t in self._messages.next_visible() if t != float("inf")]
        if not times:
            return False
        self.now = max(self.now, min(times))
        return True


def _lambda_record(queued: Queued, queue: str, fifo: bool) -> dict:
    """The record as Lambda hands it over, with the receive count it has reached."""
    message = queued.message
    record = sqs_record(
        message.body,
        queue=queue,
        message_id=queued.message_id,
        group=message.group if fifo else None,
        trace=message.trace,
        sent=SENT + queued.sequence,
        sequence=queued.sequence,
    )
    record["attributes"]["ApproximateReceiveCount"] = str(queued.receives)
    record["receiptHandle"] = receipt_handle(queued)
    return record


def receipt_handle(queued: Queued) -> str:
    """A new handle per receive, as SQS issues them: only the latest one changes the message's visibility."""
    return f"{queued.message_id}#{queued.receives}"
