"""Lambda's event source mappings, simulated: they drive the warm handler as Lambda would.

The event sources are modelled in memory (they are what the handler is tested against, not our code):

- ``sqs.SqsSource``, standard: a visibility timeout, a receive count per message, redelivery of what
  the handler reported, and past ``max_receive_count`` receives the message moves to the dead-letter
  queue. FIFO: batches of at most 10; a message group is not handed out while one of its messages is
  in flight or waiting out its visibility timeout; order per group (``queues``). A receipt handle per
  receive; with an ``sqs_peer.SqsPeer`` (the SQS endpoint the function's ChangeMessageVisibilityBatch
  calls reach), a reported message comes back after the visibility the function set.
- ``kinesis.KinesisSource``: shards, checkpoints, retries of the lowest reported sequence number,
  the on-failure destination, optional bisection.

``drive.drive`` runs a source against a pool of function instances (``instances.InProcess`` or
``instances.Workers``) on the source's virtual clock. ``reconcile.reconcile`` then accounts for every
message: on the bus, in the dead-letter queue / on-failure destination / quarantine, or lost; and it
explains every duplicate on the bus. The names are importable from this package as before.

``fleet`` (imported on its own) is another kind of run: many instances' publishers as threads taking turns on
one virtual clock, against a simulated PutEvents quota (``make scale``'s fleets).
"""

from forwarder_testing.simulation.core import Batch, Invoke, Message, Tally, failed_ids
from forwarder_testing.simulation.drive import drive
from forwarder_testing.simulation.instances import InProcess, Workers
from forwarder_testing.simulation.kinesis import KinesisSource
from forwarder_testing.simulation.reconcile import message_key, reconcile
from forwarder_testing.simulation.sqs import SqsSource

__all__ = [
    "Batch",
    "InProcess",
    "Invoke",
    "KinesisSource",
    "Message",
    "SqsSource",
    "Tally",
    "Workers",
    "drive",
    "failed_ids",
    "message_key",
    "reconcile",
]
