"""A tap on an event bus: a rule that copies every event into an SQS queue, to read back what reached it.

The one implementation behind `make invoke` (tools/local_invoke/), `make demo` and the tests
(``local_aws.tap_bus``); it works on moto or any endpoint that has EventBridge rules and SQS.
"""

from __future__ import annotations

import json
import secrets
import time
from contextlib import suppress
from typing import Any


class BusTap:
    """A rule on a bus that copies every event into an SQS queue, so that what reached the bus can be read.

    ``with BusTap(events, sqs, "orders") as tap: ...; tap.drain()`` removes what it created on leaving
    (an existing bus stays); ``open()`` alone leaves it in place (moto is reset between tests anyway).
    """

    def __init__(self, events: Any, sqs: Any, bus: str, name: str | None = None) -> None:
        self.events, self.sqs = events, sqs
        self.bus = bus.rsplit("event-bus/", 1)[-1] or "default"  # EVENT_BUS_NAME may be an ARN; rules take the name
        self.name = name or f"tap-{secrets.token_hex(4)}"  # of the rule and of the queue
        self.queue_url: str | None = None
        self.created_bus = False
        self.rule_created = False

    def open(self) -> BusTap:
        try:
            self._create_bus()
            self.queue_url = self.sqs.create_queue(QueueName=self.name)["QueueUrl"]
            pattern = json.dumps({"source": [{"exists": True}]})
            self.events.put_rule(Name=self.name, EventBusName=self.bus, EventPattern=pattern, State="ENABLED")
            self.rule_created = True
            attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
            target = {"Id": "tap", "Arn": attributes["Attributes"]["QueueArn"]}
            self.events.put_targets(Rule=self.name, EventBusName=self.bus, Targets=[target])
        except BaseException:
            self.close()
            raise
        return self

    def _create_bus(self) -> None:
        if self.bus == "default":
            return
        try:
            self.events.create_event_bus(Name=self.bus)
            self.created_bus = True
        except self.events.exceptions.ResourceAlreadyExistsException:
            pass

    def drain(self, settle_s: float = 1.0) -> list[Any]:
        """The events delivered so far (JSON-decoded). Waits up to settle_s for emulators that deliver later."""
        assert self.queue_url is not None  # noqa: S101 - set by open()
        received: list[Any] = []
        quiet_until = time.monotonic() + settle_s
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            for message in messages:
                try:
                    received.append(json.loads(message["Body"]))
                except ValueError:
                    received.append(message["Body"])
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if messages:
                quiet_until = time.monotonic() + 0.2
            elif time.monotonic() >= quiet_until or received:
                return received
            else:
                time.sleep(0.1)

    def close(self) -> None:
        """Remove what open() created, leaving an existing endpoint as it was found."""
        with suppress(Exception):
            if self.rule_created:
                self.events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=["tap"])
                self.events.delete_rule(Name=self.name, EventBusName=self.bus)
        with suppress(Exception):
            if self.queue_url:
                self.sqs.delete_queue(QueueUrl=self.queue_url)
        with suppress(Exception):
            if self.created_bus:
                self.events.delete_event_bus(Name=self.bus)

    def __enter__(self) -> BusTap:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
