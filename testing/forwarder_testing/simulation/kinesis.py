"""``KinesisSource``: Kinesis shards behind Lambda's event source mapping.

Each batch starts at the shard's checkpoint; on reported failures the shard resumes from the lowest
reported sequence number; past ``max_retry_attempts`` retries of the same position the failing batch
goes to the on-failure destination (its records are kept there); optional bisection halves the batch
on each retry. Records the function had confirmed and that come again (the shard resumed before them)
are counted, as they explain duplicates on the bus.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from forwarder_testing.events import kinesis_record
from forwarder_testing.simulation.core import Batch, Message, Tally, failed_ids


@dataclass
class _Shard:
    records: list[tuple[str, dict]]  # (message key, Lambda record)
    batch_size: int
    checkpoint: int = 0
    size: int = 0  # the next batch's size (smaller while bisecting)
    failed_at: int = -1  # checkpoint of the last failure
    attempts: int = 0  # retries at failed_at
    busy: bool = False
    confirmed: set[int] = field(default_factory=set)  # indices the function had confirmed


class KinesisSource:
    def __init__(
        self,
        messages: Iterable[Message],
        *,
        shards: int = 1,
        batch_size: int = 100,
        max_retry_attempts: int = 3,
        bisect: bool = True,
    ):
        self.max_retry_attempts = max_retry_attempts
        self.bisect = bisect
        self.tally = Tally(parked={"on_failure": []})
        lists: list[list[tuple[str, dict]]] = [[] for _ in range(shards)]
        for index, message in enumerate(messages):
            data = message.body.encode("utf-8", "surrogatepass")
            record = kinesis_record(data, sequence=index, partition_key=message.key)
            lists[index % shards].append((message.key, record))
        self.shards = [_Shard(records, batch_size, size=batch_size) for records in lists]

    @property
    def remaining(self) -> int:
        return sum(len(shard.records) - shard.checkpoint for shard in self.shards)

    def next_batch(self) -> Batch | None:
        for shard in self.shards:
            if shard.busy or shard.checkpoint >= len(shard.records):
                continue
            shard.busy = True
            indices = list(range(shard.checkpoint, min(len(shard.records), shard.checkpoint + shard.size)))
            for index in indices:
                if index in shard.confirmed:
                    self.tally.redelivered_confirmed[shard.records[index][0]] += 1
            records = [shard.records[index][1] for index in indices]
            return Batch({"Records": records}, [(shard, index) for index in indices],
                         [record["kinesis"]["sequenceNumber"] for record in records])
        return None

    def complete(self, batch: Batch, response: dict | BaseException) -> None:
        failed = failed_ids(batch, response, self.tally)
        shard: _Shard = batch.items[0][0]
        shard.busy = False
        positions = [index for (_, index), item_id in zip(batch.items, batch.ids, strict=True) if item_id in failed]
        shard.confirmed.update(index for (_, index) in batch.items if index not in positions)
        end = batch.items[-1][1] + 1
        if not positions:
            shard.checkpoint, shard.size, shard.attempts = end, shard.batch_size, 0
            return
        lowest = min(positions)  # Lambda resumes the shard here
        shard.attempts = shard.attempts + 1 if lowest == shard.failed_at else 1
        shard.checkpoint = shard.failed_at = lowest
        if shard.attempts > self.max_retry_attempts:  # give up: the failing batch goes to the destination
            self.tally.parked["on_failure"].extend(shard.records[index][0] for index in range(lowest, end))
            shard.checkpoint, shard.size, shard.attempts, shard.failed_at = end, shard.batch_size, 0, -1
        elif self.bisect:
            shard.size = max(1, (end - lowest + 1) // 2)
        else:
            shard.size = shard.batch_size

    def advance(self) -> bool:
        return False  # no timers: a shard is retried at once
