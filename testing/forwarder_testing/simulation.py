"""Lambda's event source mappings, simulated: they drive the warm handler as Lambda would.

The event sources are modelled in memory (they are what the handler is tested against, not our code):

- ``SqsSource``, standard: a visibility timeout, a receive count per message, redelivery of what the
  handler reported, and past ``max_receive_count`` receives the message moves to the dead-letter queue.
- ``SqsSource``, FIFO: batches of at most 10; a message group is not handed out while one of its
  messages is in flight or waiting out its visibility timeout; order per group; the same receive count
  and dead-letter queue.
- ``KinesisSource``: shards; each batch starts at the shard's checkpoint; on reported failures the shard
  resumes from the lowest reported sequence number; past ``max_retry_attempts`` retries of the same
  position the failing batch goes to the on-failure destination (its records are kept there); optional
  bisection halves the batch on each retry.

Time is virtual: each invocation is one tick, and when nothing is visible the clock jumps to the next
message that becomes visible. The handler's own deadline stays real (its context).

``drive`` runs a source against a pool of function instances: ``InProcess`` (the handler module in this
process, one invocation at a time, as one Lambda execution environment) or ``Workers`` (several
processes, each a warm execution environment, as Lambda scales out). ``reconcile`` then accounts for
every message: on the bus, in the dead-letter queue / on-failure destination / quarantine, or lost; and
it explains every duplicate on the bus.
"""

from __future__ import annotations

import heapq
import json
import multiprocessing
import os
import sys
import uuid
import warnings
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for_connections
from typing import Any

from forwarder_testing.events import ACCOUNT, REGION, SENT, kinesis_record, sqs_record
from forwarder_testing.lambda_context import LambdaContext

Invoke = Callable[[dict], dict]


@dataclass(slots=True)
class Message:
    """What a producer sent: `key` names it in every place it may end up."""

    key: str
    body: str
    group: str | None = None
    trace: str | None = None


@dataclass(slots=True)
class Batch:
    event: dict
    items: list[Any]  # the source's own handle per record, in event order
    ids: list[str]  # itemIdentifier per record


@dataclass
class Tally:
    """What the event source saw; `reconcile` reads it."""

    invocations: int = 0
    deliveries: int = 0  # records handed to the function, counting redeliveries
    reported: int = 0  # records named in batchItemFailures
    failed_invocations: int = 0  # the handler raised, or answered with an id not in the batch
    order_violations: int = 0  # FIFO: a record confirmed after an earlier one of its group was reported
    parked: dict[str, list[str]] = field(default_factory=dict)  # "dlq" / "on_failure" -> message keys
    redelivered_confirmed: Counter = field(default_factory=Counter)  # key -> times delivered again after
    # the function had confirmed it (Kinesis resumes a shard before records that had succeeded)


def failed_ids(batch: Batch, response: dict | BaseException, tally: Tally) -> set[str]:
    """The ids Lambda treats as failed: the whole batch when the invocation or its answer is bad."""
    tally.invocations += 1
    tally.deliveries += len(batch.ids)
    if isinstance(response, BaseException) or not isinstance(response, dict):
        tally.failed_invocations += 1
        return set(batch.ids)
    named = [item.get("itemIdentifier") for item in response.get("batchItemFailures") or []]
    if any(name not in batch.ids for name in named):  # Lambda fails the whole batch for an unknown id
        tally.failed_invocations += 1
        return set(batch.ids)
    tally.reported += len(set(named))
    return set(named)


# -- SQS ------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Queued:
    message: Message
    message_id: str
    sequence: int
    receives: int = 0
    visible_at: float = 0.0


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
    ):
        if fifo and batch_size > 10:
            raise ValueError("FIFO event sources take at most 10 records per batch")
        self.fifo = fifo
        self.batch_size = batch_size
        self.visibility_timeout = visibility_timeout
        self.max_receive_count = max_receive_count
        self.per_group = per_group
        self.queue = queue + (".fifo" if fifo and not queue.endswith(".fifo") else "")
        self.now = 0.0
        self.tally = Tally(parked={"dlq": []})
        self.ready: deque[_Queued] = deque()  # standard: visible messages
        self.hidden: list[tuple[float, int, _Queued]] = []  # standard: (visible_at, sequence, message)
        self.groups: OrderedDict[str, deque[_Queued]] = OrderedDict()  # FIFO: group -> its messages, in order
        self.busy_groups: set[str] = set()
        self.in_flight = 0
        for sequence, message in enumerate(messages):
            queued = _Queued(message, str(uuid.UUID(int=sequence + 1)), sequence)
            if fifo:
                self.groups.setdefault(message.group or "", deque()).append(queued)
            else:
                self.ready.append(queued)

    @property
    def remaining(self) -> int:
        if self.fifo:
            return sum(len(lane) for lane in self.groups.values())
        return len(self.ready) + len(self.hidden) + self.in_flight

    def next_batch(self) -> Batch | None:
        taken = self._take_fifo() if self.fifo else self._take_standard()
        if not taken:
            return None
        self.now += 1
        self.in_flight += len(taken)
        records = [self._record(queued) for queued in taken]
        return Batch({"Records": records}, taken, [queued.message_id for queued in taken])

    def _receive(self, queued: _Queued) -> bool:
        """Count a receive, or move the message to the dead-letter queue when it has had its receives."""
        if queued.receives >= self.max_receive_count:
            self.tally.parked["dlq"].append(queued.message.key)
            return False
        queued.receives += 1
        queued.visible_at = float("inf")  # in flight: invisible until the invocation ends
        return True

    def _take_standard(self) -> list[_Queued]:
        while self.hidden and self.hidden[0][0] <= self.now:
            self.ready.append(heapq.heappop(self.hidden)[2])
        taken: list[_Queued] = []
        while self.ready and len(taken) < self.batch_size:
            queued = self.ready.popleft()
            if self._receive(queued):
                taken.append(queued)
        return taken

    def _take_fifo(self) -> list[_Queued]:
        taken: list[_Queued] = []
        for group in list(self.groups):
            if len(taken) >= self.batch_size:
                break
            lane = self.groups[group]
            if group in self.busy_groups or lane[0].visible_at > self.now:
                continue  # in flight, or its head waits out its visibility timeout
            self.groups.move_to_end(group)  # round robin over the groups
            picked = 0
            while picked < len(lane) and picked < self.per_group and len(taken) < self.batch_size:
                queued = lane[picked]
                if self._receive(queued):
                    taken.append(queued)
                    picked += 1
                else:
                    del lane[picked]  # moved to the dead-letter queue; the group goes on
            if not lane:
                del self.groups[group]
            elif picked:
                self.busy_groups.add(group)
        return taken

    def _record(self, queued: _Queued) -> dict:
        message = queued.message
        record = sqs_record(
            message.body,
            queue=self.queue,
            message_id=queued.message_id,
            group=message.group if self.fifo else None,
            trace=message.trace,
            sent=SENT + queued.sequence,
            sequence=queued.sequence,
        )
        record["attributes"]["ApproximateReceiveCount"] = str(queued.receives)
        return record

    def complete(self, batch: Batch, response: dict | BaseException) -> None:
        failed = failed_ids(batch, response, self.tally)
        self.in_flight -= len(batch.items)
        blocked: set[str] = set()
        for queued in batch.items:
            group = queued.message.group or ""
            if queued.message_id in failed:
                queued.visible_at = self.now + self.visibility_timeout
                if self.fifo:
                    blocked.add(group)
                else:
                    heapq.heappush(self.hidden, (queued.visible_at, queued.sequence, queued))
                continue
            if self.fifo:  # confirmed: deleted from the queue
                if group in blocked:
                    self.tally.order_violations += 1
                self.groups[group].remove(queued)
                if not self.groups[group]:
                    del self.groups[group]
        if self.fifo:
            self.busy_groups.difference_update(queued.message.group or "" for queued in batch.items)

    def advance(self) -> bool:
        """Jump the clock to the next message to become visible; False when nothing is left."""
        if self.fifo:
            times = [lane[0].visible_at for group, lane in self.groups.items() if group not in self.busy_groups]
        else:
            times = [self.hidden[0][0]] if self.hidden else []
        times = [t for t in times if t != float("inf")]
        if not times:
            return False
        self.now = max(self.now, min(times))
        return True


# -- Kinesis --------------------------------------------------------------------------------------


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


# -- function instances ---------------------------------------------------------------------------


class InProcess:
    """One warm execution environment in this process: invocations run one at a time."""

    size = 1

    def __init__(self, invoke: Invoke):
        self._invoke = invoke
        self._done: list[tuple[int, dict | BaseException]] = []

    def submit(self, slot: int, event: dict) -> None:
        try:
            self._done.append((slot, self._invoke(event)))
        except Exception as error:  # noqa: BLE001 - Lambda records the error and retries the batch
            self._done.append((slot, error))

    def wait(self) -> list[tuple[int, dict | BaseException]]:
        done, self._done = self._done, []
        return done


def _worker(env: dict[str, str], timeout_ms: int, connection: Any) -> None:
    """One execution environment: a cold start (importing the handler), then invocations on request.

    A spawned process: it finds the forwarder and this package where the parent does, in the venv."""
    os.environ.update(env)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the handler's log and metric lines: not wanted here
    warnings.filterwarnings("ignore", message="No application metrics")  # metrics are disabled on purpose
    import forwarder.handler as handler

    while (event := connection.recv()) is not None:
        try:
            connection.send(handler.lambda_handler(event, LambdaContext(timeout_ms=timeout_ms)))
        except Exception as error:  # noqa: BLE001 - Lambda records the error and retries the batch
            connection.send(RuntimeError(f"{type(error).__name__}: {error}"))


class Workers:
    """Several execution environments, each its own process (as Lambda scales out a function)."""

    def __init__(self, size: int, env: dict[str, str], timeout_ms: int = 30_000):
        self.size = size
        context = multiprocessing.get_context("spawn")
        self._connections = []
        self._processes = []
        for _ in range(size):
            parent, child = context.Pipe()
            process = context.Process(target=_worker, args=(env, timeout_ms, child), daemon=True)
            process.start()
            self._connections.append(parent)
            self._processes.append(process)
        self._busy: set[int] = set()

    def submit(self, slot: int, event: dict) -> None:
        self._busy.add(slot)
        self._connections[slot].send(event)

    def wait(self) -> list[tuple[int, dict | BaseException]]:
        ready = wait_for_connections([self._connections[slot] for slot in self._busy])
        done = []
        for connection in ready:
            slot = self._connections.index(connection)
            self._busy.discard(slot)
            done.append((slot, connection.recv()))
        return done

    def close(self) -> None:
        for connection, process in zip(self._connections, self._processes, strict=True):
            connection.send(None)
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def drive(source: SqsSource | KinesisSource, instances: InProcess | Workers, max_invocations: int = 10**7) -> Tally:
    """Hand batches to idle instances until the source has nothing left (or the cap is reached)."""
    busy: dict[int, Batch] = {}
    while source.tally.invocations < max_invocations:
        for slot in range(instances.size):
            if slot in busy:
                continue
            batch = source.next_batch()
            if batch is None:
                break
            busy[slot] = batch
            instances.submit(slot, batch.event)
        if not busy:
            if not source.advance():
                break
            continue
        for slot, response in instances.wait():
            source.complete(busy.pop(slot), response)
    return source.tally


# -- accounting -----------------------------------------------------------------------------------


def message_key(detail: str) -> str | None:
    """The soak's messages are JSON objects with an "id"."""
    try:
        value = json.loads(detail)
    except ValueError:
        return None
    return value.get("id") if isinstance(value, dict) else None


def reconcile(
    messages: Sequence[Message],
    bus: Sequence[dict],
    ambiguous_event_ids: Iterable[str],
    tally: Tally,
    quarantine: Iterable[str] = (),
    is_poison: Callable[[Message], bool] = lambda message: False,
) -> dict[str, Any]:
    """Where every message went, and why each duplicate on the bus exists.

    A message that is confirmed once is never sent again by the function, so a copy beyond the
    first needs a cause: it was accepted in a request whose answer was lost (ambiguous), or the
    event source delivered the record again after the function had confirmed it (a Kinesis
    shard resuming before it). Copies with neither cause are `unexplained`.
    """
    ambiguous = set(ambiguous_event_ids)
    copies: Counter[str] = Counter()
    ambiguous_copies: Counter[str] = Counter()
    first_on_bus: dict[str, int] = {}
    for position, entry in enumerate(bus):
        key = message_key(entry.get("Detail", ""))
        copies[key] += 1
        ambiguous_copies[key] += entry.get("EventId") in ambiguous
        first_on_bus.setdefault(key, position)
    parked = {place: set(keys) for place, keys in tally.parked.items()}
    parked["quarantine"] = set(quarantine)
    known = {message.key for message in messages}
    lost = [m.key for m in messages if m.key not in copies and not any(m.key in keys for keys in parked.values())]
    explained_ambiguous = explained_redelivery = unexplained = 0
    for key, count in copies.items():
        extra = count - 1
        by_ambiguity = min(extra, ambiguous_copies[key])
        by_redelivery = min(extra - by_ambiguity, tally.redelivered_confirmed[key])
        explained_ambiguous += by_ambiguity
        explained_redelivery += by_redelivery
        unexplained += extra - by_ambiguity - by_redelivery
    healthy_parked = {
        place: sum(1 for m in messages if m.key in keys and not is_poison(m)) for place, keys in parked.items()
    }
    poison_on_bus = sum(1 for m in messages if is_poison(m) and m.key in copies)
    return {
        "messages": len(messages),
        "poison": sum(1 for m in messages if is_poison(m)),
        "on_bus": sum(1 for m in messages if m.key in copies),
        "parked": {place: len(keys & known) for place, keys in parked.items()},
        "healthy_parked": healthy_parked,
        "poison_on_bus": poison_on_bus,
        "lost": len(lost),
        "lost_examples": lost[:5],
        "unknown_on_bus": sum(count for key, count in copies.items() if key not in known),
        "duplicates": sum(count - 1 for count in copies.values()),
        "duplicates_ambiguous": explained_ambiguous,
        "duplicates_source_redelivery": explained_redelivery,
        "duplicates_unexplained": unexplained,
        "fifo_order_violations_on_bus": _order_violations(messages, first_on_bus),
        "invocations": tally.invocations,
        "deliveries": tally.deliveries,
        "reported": tally.reported,
        "failed_invocations": tally.failed_invocations,
        "fifo_order_violations_in_responses": tally.order_violations,
    }


def _order_violations(messages: Sequence[Message], first_on_bus: dict[str, int]) -> int:
    """Per FIFO group, messages must first reach the bus in the order they were sent."""
    last: dict[str, int] = {}
    violations = 0
    for message in messages:
        if message.group is None or message.key not in first_on_bus:
            continue
        position = first_on_bus[message.key]
        if position < last.get(message.group, -1):
            violations += 1
        last[message.group] = max(position, last.get(message.group, -1))
    return violations


def lambda_arn(queue: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"
