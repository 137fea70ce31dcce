"""A fault-injecting Amazon EventBridge PutEvents endpoint on 127.0.0.1, for tests and benchmarks.

It speaks the EventBridge JSON protocol (awsJson1_1: ``POST /`` with ``X-Amz-Target: AWSEvents.PutEvents``),
so a real boto3 ``events`` client with ``endpoint_url=endpoint.url`` (dummy credentials, us-east-1) works
against it. It validates like the real service, records every entry it accepted, and injects faults on
demand. Errors carry ``__type`` (what botocore's JSON parser reads) and ``x-amzn-ErrorType``, so boto3
raises proper ``ClientError`` codes and botocore's retry modes see throttling and 5xx as retryable.

The same server also speaks the eventbridgev2 API (Custom Event Bus: ``POST
/service/AWSEventsV2/operation/PutEvents``, Smithy RPC v2 CBOR), so a boto3 ``eventbridgev2`` client with
the same ``endpoint_url`` works too: same config, faults, detail rules and stats, plus a deduplication
window. Its wire format, validation, dedup rules and accepted-entry shape are in ``eventbridge_v2.py``.

In a test (same process)::

    with FaultEndpoint(latency_ms=0) as ep:
        ep.configure(request_schedule=["http503"], detail_rules=[{"contains": "poison",
                                                                  "code": "MalformedDetail"}])
        ...  # boto3.client("events", endpoint_url=ep.url, ...)
        ep.accepted()   # list of accepted entries, in order, each with its "EventId"
        ep.stats()      # counts of requests, entries, faults injected and rejections, by kind
        ep.accepted_v2()  # only the eventbridgev2 entries (each has "Api": "eventbridgev2")

As its own process (the first stdout line is the URL; SIGTERM or SIGINT stops it)::

    python -m forwarder_testing.eventbridge_endpoint --port 0 --latency-ms 10 [--seed 7] [--config '{...}']

Control routes (JSON in and out; answered without latency or faults):

    GET  /_fault/config            the current config
    POST /_fault/config            merge the given keys into the config (unknown key -> 400); returns it
    POST /_fault/reset             forget accepted entries and stats, restore the starting config, reseed
    GET  /_fault/accepted?since=N  {"count": total, "entries": accepted entries from index N on}
                                   (both APIs, in order; eventbridgev2 entries carry "Api": "eventbridgev2")
    GET  /_fault/accepted_v2?since=N   the same over the eventbridgev2 entries only
    GET  /_fault/stats             {"requests", "entries_received", "entries_accepted",
                                    "faults": {kind: n}, "rejections": {kind: n},
                                    "entries_deduplicated", "eventbridgev2": {"requests", "entries_received",
                                    "entries_accepted", "entries_deduplicated", "dedup_keys" (keys held in
                                    the window)}}  (the top-level counts cover both APIs)
    GET  /_fault/ambiguous?since=N {"count": total, "event_ids": EventIds from index N on} of the entries
                                   accepted in a request whose answer the client may not have seen
                                   (slow, accepted_hang, accepted_reset): the only honest source of
                                   duplicates, so a soak can explain each one

Config keys (``FaultConfig``; probabilities are drawn from one RNG seeded with ``seed``):

    seed               int, reseeds the RNG when set
    latency_ms         base delay before every PutEvents answer (benchmarks: 0, 10, 25)
    request_faults     {kind: probability} drawn per PutEvents request
    request_schedule   [kind, ...] consumed one per PutEvents request before any probability; "ok" = none
    entry_faults       {ErrorCode: probability} drawn per entry that passed validation
    entry_schedule     [ErrorCode or null, ...] consumed one per such entry; null / "ok" = accept it
    detail_rules       [{"contains": str, "code": ErrorCode}] an entry whose Detail contains the substring
                       always fails with that code (lets a test target one record)
    slow_ms            how long "slow", "accepted_hang" hold the answer (make it exceed the read timeout)
    trickle_ms         "trickle": the pause before each byte of the answer (default 1000)
    max_body_bytes     HTTP body limit, over it -> 413 with an empty body (default 1 MiB)
    max_entries_bytes  sum of entry sizes (AWS formula) over it -> ValidationException (default 1 MiB)
    record_accepted    false keeps only counts (long benchmarks would otherwise hold every entry)
    dedup_window_seconds  eventbridgev2: how long an accepted DeduplicationId (or content hash) answers
                       DEDUPLICATED (default 300, as the service; tests shorten it)
    answer_schedule    [{"status": int, "body": str} or null / "ok", ...] consumed one per PutEvents request before
                       request_rules and faults: answer with that status and raw body (UTF-8, any text: "[]",
                       "null", not JSON at all), nothing accepted; null / "ok" = go on as usual
    request_rules      [{"contains": str, "code": str, "status": int}] a PutEvents request with an entry whose
                       Detail contains the substring is refused whole (default 400 ValidationException), as the
                       service refuses a request for one bad entry; nothing accepted

Request fault kinds:

    throttle        400 ThrottlingException, nothing accepted (retryable)
    http500         500 InternalException, nothing accepted (retryable)
    http503         503 ServiceUnavailable, nothing accepted (retryable)
    http429         429 with a code no SDK knows (a front end's rate limit), nothing accepted (retryable)
    reset           connection reset (RST) without an answer, nothing accepted
    slow            wait slow_ms, then process and answer normally: the entries ARE accepted
    accepted_hang   process and record the entries, then hold the answer slow_ms and close: the client
                    times out although the entries were accepted (the source of ambiguous duplicates)
    accepted_reset  process and record the entries, then reset the connection instead of answering
    trickle         process and record the entries, then write the answer (status line, headers, body) one
                    byte per trickle_ms and close: no single receive ever waits long, so a per-receive read
                    timeout never trips; stops when the client hangs up (both APIs)

On eventbridgev2, throttle answers 429 (its modeled ThrottlingException), and accepted_hang / accepted_reset
also put the entries in the dedup window, so the client's retry comes back DEDUPLICATED.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import io
import json
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TARGET = "AWSEvents.PutEvents"
CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_ENTRIES = 10
MAX_DETAIL_TYPE_CHARS = 128
MAX_DETAIL_DEPTH = 1000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TIME_ENTRY_BYTES = 14  # AWS's size formula counts a set Time as 14 bytes

REQUEST_FAULT_KINDS = frozenset(
    {"ok", "throttle", "http500", "http503", "http429", "reset", "slow", "accepted_hang", "accepted_reset",
     "trickle"}
)
# Faults after which entries are accepted although the client may never see the answer.
AMBIGUOUS_FAULT_KINDS = frozenset({"slow", "accepted_hang", "accepted_reset", "trickle"})
# (status, __type, message) for the request-level errors the faults imitate.
REQUEST_ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "http500": (500, "InternalException", "An internal error occurred."),
    "http503": (503, "ServiceUnavailable", "The service is unavailable. Please try again later."),
    "http429": (429, "TooManyRequests", "Slow down."),
}
ENTRY_MESSAGES = {
    "InternalFailure": "Internal service failure.",
    "ThrottlingException": "Rate exceeded.",
    "AccessDeniedException": "User is not authorized to perform: events:PutEvents.",
    "InvalidAccountIdException": "Account ID is not valid.",
    "InvalidArgument": "A specified parameter is not valid.",
    "MalformedDetail": "Detail is malformed.",
    "RedactionFailure": "Redacting the CloudTrail event failed.",
    "NotAuthorizedForSourceException": "Not authorized for the source.",
    "NotAuthorizedForDetailTypeException": "Not authorized for the detail type.",
}
REQUIRED_FIELDS = ("Source", "DetailType", "Detail")
STRING_FIELDS = (*REQUIRED_FIELDS, "EventBusName", "TraceHeader")
# Model maxima (botocore's service-2.json) are enforced by the service's request validation, so they
# fail the whole request with ValidationException; botocore itself only checks minima client-side.
MODEL_MAX_LENGTHS = (("TraceHeader", "traceHeader", 500), ("EventBusName", "eventBusName", 1600))
MAX_RESOURCE_CHARS = 2048
V2_API = "eventbridgev2"  # the "Api" of accepted eventbridgev2 entries and the key of their stats
V2_PATH_PREFIX = "/service/"  # Smithy RPC v2: POST /service/{ServiceName}/operation/{OperationName}
V2_STATS = ("requests", "entries_received", "entries_accepted", "entries_deduplicated")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class RequestError(Exception):
    """A whole-request error answered as awsJson1_1 (status, __type, message)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def validation_error(message: str) -> RequestError:
    return RequestError(400, "ValidationException", message)


@dataclasses.dataclass
class FaultConfig:
    """Everything the endpoint can be told; see the module docstring for each key."""

    seed: int = 0
    latency_ms: float = 0.0
    request_faults: dict[str, float] = dataclasses.field(default_factory=dict)
    request_schedule: list[str] = dataclasses.field(default_factory=list)
    entry_faults: dict[str, float] = dataclasses.field(default_factory=dict)
    entry_schedule: list[str | None] = dataclasses.field(default_factory=list)
    detail_rules: list[dict[str, str]] = dataclasses.field(default_factory=list)
    slow_ms: float = 2000.0
    trickle_ms: float = 1000.0
    max_body_bytes: int = 1024 * 1024
    max_entries_bytes: int = 1024 * 1024
    record_accepted: bool = True
    dedup_window_seconds: float = 300.0  # eventbridgev2 only (see eventbridge_v2.py)
    answer_schedule: list[dict[str, Any] | str | None] = dataclasses.field(default_factory=list)
    request_rules: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def update(self, changes: dict[str, Any]) -> None:
        """Merge changes, rejecting unknown keys and unknown fault kinds before touching anything."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        candidate = dataclasses.replace(self, **changes)
        candidate.check()
        for key, value in changes.items():
            setattr(self, key, copy.deepcopy(value))  # schedules are consumed: never the caller's list

    def check(self) -> None:
        kinds = set(self.request_faults) | set(self.request_schedule)
        if kinds - REQUEST_FAULT_KINDS:
            raise ValueError(f"unknown request fault kinds: {sorted(kinds - REQUEST_FAULT_KINDS)}")
        for table in (self.request_faults, self.entry_faults):
            if sum(table.values()) > 1.0:
                raise ValueError("fault probabilities add up to more than 1")
        if any(not {"contains", "code"} <= set(rule) for rule in self.detail_rules):
            raise ValueError('each detail rule needs "contains" and "code"')
        if self.dedup_window_seconds < 0:
            raise ValueError("dedup_window_seconds must not be negative")
        check_scripted(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def entry_size(entry: dict[str, Any]) -> int:
    """AWS's 'Calculating PutEvents event entry size' formula (TraceHeader is not counted)."""
    size = TIME_ENTRY_BYTES if entry.get("Time") is not None else 0
    for field in ("Source", "DetailType", "Detail"):
        value = entry.get(field)
        if isinstance(value, str):
            size += len(value.encode("utf-8", "surrogatepass"))  # a \ud800 escape is valid JSON text
    for resource in entry.get("Resources") or ():
        if isinstance(resource, str):
            size += len(resource.encode("utf-8", "surrogatepass"))
    return size


def detail_too_deep(detail: str) -> bool:
    """True when the JSON nests deeper than 1000 levels; cheap unless there are many brackets."""
    if detail.count("{") + detail.count("[") <= MAX_DETAIL_DEPTH:
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", detail)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DETAIL_DEPTH:
            return True
    return False


def _int64(text: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("integer outside int64")
    return value


def _no_constants(text: str) -> None:
    raise ValueError(f"{text} is not JSON")  # Python accepts NaN/Infinity; JSON does not


# Built once: json.loads with hooks would build a new decoder (and scanner) on every call.
_DECODER = json.JSONDecoder(parse_int=_int64, parse_constant=_no_constants)


def detail_is_well_formed(detail: str) -> bool:
    """A JSON object, at most 1000 levels deep, integers within int64; duplicate keys allowed."""
    if detail_too_deep(detail):
        return False
    try:
        parsed = _DECODER.decode(detail)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict)


def entry_error(entry: Any) -> tuple[str, str] | None:
    """The per-entry error the real service would give a bad entry, else None."""
    if not isinstance(entry, dict):
        return "InvalidArgument", "Entry is not valid."
    for field in REQUIRED_FIELDS:
        if not entry.get(field):
            reason = f"{field} is a required argument."
            return "InvalidArgument", f"Parameter {field} is not valid. Reason: {reason}"
    if len(entry["DetailType"]) > MAX_DETAIL_TYPE_CHARS:
        return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is too long."
    if not detail_is_well_formed(entry["Detail"]):
        return "MalformedDetail", ENTRY_MESSAGES["MalformedDetail"]
    return None


def check_request(body: dict[str, Any], max_entries_bytes: int) -> list[dict[str, Any]]:
    """Whole-request checks; returns the entries or raises RequestError."""
    entries = body.get("Entries")
    if not isinstance(entries, list):
        raise validation_error("1 validation error detected: Value null at 'entries' failed to satisfy "
                               "constraint: Member must not be null")
    if not 1 <= len(entries) <= MAX_ENTRIES:
        bound = "greater than or equal to 1" if not entries else "less than or equal to 10"
        raise validation_error("1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' "
                               f"failed to satisfy constraint: Member must have length {bound}")
    check_shapes(entries)
    check_model_lengths(entries)
    if not any(isinstance(e, dict) and all(e.get(f) for f in REQUIRED_FIELDS) for e in entries):
        raise validation_error("None of the entries has all of Source, DetailType and Detail.")
    if sum(entry_size(e) for e in entries if isinstance(e, dict)) > max_entries_bytes:
        raise validation_error("Total size of the entries in the request is over the limit.")
    return entries


def check_shapes(entries: list[Any]) -> None:
    """Wrong JSON types fail deserialisation before any business rule, as in the real service."""
    for entry in entries:
        strings = [entry.get(field) for field in STRING_FIELDS] if isinstance(entry, dict) else [1]
        resources = entry.get("Resources") if isinstance(entry, dict) else None
        if any(value is not None and not isinstance(value, str) for value in strings) or not (
            resources is None or (isinstance(resources, list) and all(isinstance(r, str) for r in resources))
        ):
            raise RequestError(400, "SerializationException", "An entry has a field of the wrong type.")


def check_model_lengths(entries: list[Any]) -> None:
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            continue
        for field, wire_name, limit in MODEL_MAX_LENGTHS:
            value = entry.get(field)
            if isinstance(value, str) and len(value) > limit:
                raise validation_error(f"1 validation error detected: Value at 'entries.{index}.member."
                                       f"{wire_name}' failed to satisfy constraint: Member must have "
                                       f"length less than or equal to {limit}")
        if any(isinstance(r, str) and len(r) > MAX_RESOURCE_CHARS for r in entry.get("Resources") or ()):
            raise validation_error(f"1 validation error detected: Value at 'entries.{index}.member."
                                   "resources' failed to satisfy constraint: Member must have length less "
                                   f"than or equal to {MAX_RESOURCE_CHARS}")


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
        self.entries_received = 0
        self.faults: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.signing: deque[dict[str, Any]] = deque(maxlen=256)  # how recent requests were signed
        # eventbridgev2 (eventbridge_v2.py): dedup key -> (expires, EventId, SequenceNumber), and a heap of
        # (expires, key) to drop expired keys in expiry order
        self.dedup_window: dict[Any, tuple[float, str, str]] = {}
        self.dedup_expiry: list[tuple[float, Any]] = []
        self.v2_counts: Counter[str] = Counter()

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
            return self.config.to_dict()

    def _draw(self, schedule: list[Any], table: dict[str, float]) -> Any:
        """Next scheduled item if any, else one drawn by probability, else None (caller holds lock)."""
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
        with self.lock:
            self.requests += 1
            kind = self._draw(self.config.request_schedule, self.config.request_faults)
            if kind in (None, "ok"):
                return None
            self.faults[kind] += 1
            return kind

    def note_signing(self, headers: Any, body: bytes) -> None:
        """Remember the signature scheme, region set and EndpointId of a request (global endpoints), and
        its headers and body, so a test can check the signature as AWS would."""
        endpoint_id = json.loads(body).get("EndpointId") if b'"EndpointId"' in body else None
        scheme = (headers.get("Authorization") or "").split(" ", 1)[0]
        with self.lock:
            self.signing.append(
                {"scheme": scheme, "region_set": headers.get("X-Amz-Region-Set"), "endpoint_id": endpoint_id,
                 "request": {"headers": dict(headers.items()), "body": body}}
            )

    def reject(self, kind: str) -> None:
        with self.lock:
            self.rejections[kind] += 1

    def process(self, entries: list[Any], fault: str | None = None) -> dict[str, Any]:
        """Validate and fault each entry, record the accepted ones; returns the PutEvents response."""
        errors = [entry_error(entry) for entry in entries]  # outside the lock: the costly part
        with self.lock:
            self.entries_received += len(entries)
            results = [self._result(entry, error) for entry, error in zip(entries, errors, strict=True)]
            if fault in AMBIGUOUS_FAULT_KINDS:
                self.ambiguous.extend(result["EventId"] for result in results if "EventId" in result)
        failed = sum(1 for result in results if "ErrorCode" in result)
        return {"FailedEntryCount": failed, "Entries": results}

    def _result(self, entry: Any, error: tuple[str, str] | None) -> dict[str, str]:
        if error:
            self.rejections[f"entry:{error[0]}"] += 1
            return {"ErrorCode": error[0], "ErrorMessage": error[1]}
        code = self._injected_entry_code(entry)
        if code:
            self.faults[f"entry:{code}"] += 1
            return {"ErrorCode": code, "ErrorMessage": ENTRY_MESSAGES.get(code, "Injected failure.")}
        self.accepted_count += 1
        event_id = f"00000000-0000-4000-8000-{self.accepted_count:012x}"  # unique and reproducible
        if self.config.record_accepted:
            self.accepted.append({"EventId": event_id, **entry})
        return {"EventId": event_id}

    def _injected_entry_code(self, entry: dict[str, Any]) -> str | None:
        for rule in self.config.detail_rules:
            if rule["contains"] in entry["Detail"]:
                return rule["code"]
        code = self._draw(self.config.entry_schedule, self.config.entry_faults)
        return None if code in (None, "ok") else code

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
                "entries_received": self.entries_received,
                "entries_accepted": self.accepted_count,
                "faults": dict(self.faults),
                "rejections": dict(self.rejections),
                "entries_deduplicated": self.v2_counts["entries_deduplicated"],
                V2_API: {**{key: self.v2_counts[key] for key in V2_STATS}, "dedup_keys": len(self.dedup_window)},
            }


# -- scripted answers and whole-request rules (answer_schedule, request_rules) ------------------------------


def check_scripted(config: FaultConfig) -> None:
    for answer in config.answer_schedule:
        scripted = isinstance(answer, dict) and isinstance(answer.get("status"), int)
        if not (answer in (None, "ok") or (scripted and isinstance(answer.get("body", ""), str))):
            raise ValueError('each answer_schedule item is null, "ok" or {"status": int, "body": str}')
    if any(not isinstance(rule, dict) or not isinstance(rule.get("contains"), str) for rule in config.request_rules):
        raise ValueError('each request rule needs "contains"')


def answer_scripted(handler: Handler, body: bytes) -> bool:
    """Answer a PutEvents request by answer_schedule or request_rules; False when neither applies."""
    state = handler.state
    with state.lock:
        answer = state.config.answer_schedule.pop(0) if state.config.answer_schedule else None
        rule = None if isinstance(answer, dict) else _request_rule(state.config.request_rules, body)
        if isinstance(answer, dict) or rule is not None:
            state.requests += 1
    if isinstance(answer, dict):
        with state.lock:
            state.faults[f"answer:{answer['status']}"] += 1
        handler.send_raw(answer["status"], answer.get("body", "").encode("utf-8", "surrogatepass"))
        return True
    if rule is None:
        return False
    error = RequestError(rule.get("status", 400), rule.get("code", "ValidationException"),
                         rule.get("message", "The request was refused for one of its entries."))
    state.reject(error.code)
    handler.send_error_json(error)
    return True


def _request_rule(rules: list[dict[str, Any]], body: bytes) -> dict[str, Any] | None:
    if not rules:
        return None
    try:
        entries = json.loads(body).get("Entries")
    except (ValueError, AttributeError):
        return None  # the usual checks answer it
    if not isinstance(entries, list):
        return None
    details = [e["Detail"] for e in entries if isinstance(e, dict) and isinstance(e.get("Detail"), str)]
    return next((rule for rule in rules if any(rule["contains"] in detail for detail in details)), None)


class Handler(BaseHTTPRequestHandler):
    """One keep-alive connection; PutEvents on POST /, control routes under /_fault/."""

    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    server: EndpointServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle + delayed ACK adds ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt: str, *args: Any) -> None:
        pass  # a benchmark sends thousands of requests a second; logging them would be the bottleneck

    @property
    def state(self) -> FaultState:
        return self.server.state

    def do_GET(self) -> None:
        route = urlsplit(self.path)
        if route.path == "/_fault/config":
            self.send_json(200, self.state.config_dict())
        elif route.path == "/_fault/stats":
            self.send_json(200, self.state.stats())
        elif route.path == "/_fault/accepted":
            since = int(parse_qs(route.query).get("since", ["0"])[0])
            entries = self.state.accepted_since(since)
            self.send_json(200, {"count": since + len(entries), "entries": entries})
        elif route.path == "/_fault/accepted_v2":
            since = int(parse_qs(route.query).get("since", ["0"])[0])
            entries = self.state.accepted_v2_since(since)
            self.send_json(200, {"count": since + len(entries), "entries": entries})
        elif route.path == "/_fault/ambiguous":
            since = int(parse_qs(route.query).get("since", ["0"])[0])
            event_ids = self.state.ambiguous_since(since)
            self.send_json(200, {"count": since + len(event_ids), "event_ids": event_ids})
        else:
            self.send_json(404, {"message": f"no route {route.path}"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)  # read it all, even to refuse it, so the connection stays usable
        if self.path == "/":
            self.put_events(body)
        elif self.path.startswith(V2_PATH_PREFIX):
            from .eventbridge_v2 import put_events_v2  # the eventbridgev2 API (rpc-v2-cbor)

            put_events_v2(self, body)
        elif self.path == "/_fault/config":
            self.control_config(body)
        elif self.path == "/_fault/reset":
            self.state.reset()
            self.send_json(200, self.state.config_dict())
        else:
            self.send_json(404, {"message": f"no route {self.path}"})

    def control_config(self, body: bytes) -> None:
        try:
            self.send_json(200, self.state.configure(json.loads(body or b"{}")))
        except (ValueError, TypeError) as error:
            self.send_json(400, {"message": str(error)})

    def put_events(self, body: bytes) -> None:
        if self.headers.get("X-Amz-Target") != TARGET:
            self.send_error_json(RequestError(400, "UnknownOperationException", "Only PutEvents is served."))
            return
        self.state.note_signing(self.headers, body)
        if len(body) > self.state.config.max_body_bytes:
            self.state.reject("http413")
            self.send_raw(413, b"", close=True)  # what the real front end sends: no body, then close
            return
        if answer_scripted(self, body):  # answer_schedule, request_rules
            return
        fault = self.state.request_fault()
        if fault in REQUEST_ERRORS:
            self.send_error_json(RequestError(*REQUEST_ERRORS[fault]))
        elif fault == "reset":
            self.reset_connection()
        else:
            self.trickling = fault == "trickle"
            self.answer_put_events(body, fault)

    def answer_put_events(self, body: bytes, fault: str | None) -> None:
        config = self.state.config
        if fault == "slow":
            self.state.stopping.wait(config.slow_ms / 1000)
        try:
            response = self.state.process(check_request(self.parse_body(body), config.max_entries_bytes), fault)
        except RequestError as error:
            self.state.reject(error.code)
            self.send_error_json(error)
            return
        if fault == "accepted_reset":
            self.reset_connection()
        elif fault == "accepted_hang":
            self.state.stopping.wait(config.slow_ms / 1000)
            self.close_connection = True  # the answer is never sent
        else:
            self.send_json(200, response)

    def parse_body(self, body: bytes) -> dict[str, Any]:
        try:
            parsed = json.loads(body)
        except ValueError as error:
            raise RequestError(400, "SerializationException", "Request body is not JSON.") from error
        if not isinstance(parsed, dict):
            raise RequestError(400, "SerializationException", "Request body is not a JSON object.")
        return parsed

    def send_error_json(self, error: RequestError) -> None:
        payload = {"__type": error.code, "message": error.message}
        self.send_json(error.status, payload, {"x-amzn-ErrorType": error.code})

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_raw(status, json.dumps(payload).encode(), headers=headers)

    def send_raw(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                 close: bool = False, content_type: str = CONTENT_TYPE) -> None:
        if self.trickling:
            self.send_trickled(lambda: self.send_raw(status, body, headers, close, content_type))
            return
        latency = self.state.config.latency_ms
        if latency and not self.path.startswith("/_fault/"):
            time.sleep(latency / 1000)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", f"fake-{threading.get_ident():x}-{time.monotonic_ns():x}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    # -- the "trickle" fault: an answer written one byte per trickle_ms ------------------------------
    trickling = False  # set per request by the fault draw; the next answer is trickled

    def send_trickled(self, write_answer: Any) -> None:
        """Write the answer `write_answer` would send, byte by byte, then close the connection."""
        self.trickling = False
        real, self.wfile = self.wfile, io.BytesIO()
        try:
            write_answer()
        finally:
            answer, self.wfile = self.wfile.getvalue(), real
        self.close_connection = True
        for position in range(len(answer)):
            if self.state.stopping.wait(self.state.config.trickle_ms / 1000):
                return
            try:
                real.write(answer[position:position + 1])
            except OSError:
                return  # the client hung up: nobody is reading
    # -- end of the "trickle" fault ------------------------------------------------------------------

    def reset_connection(self) -> None:
        """Drop the connection with an RST (SO_LINGER 0) and no answer at all."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        # rfile holds a reference to the socket; close it too so the RST goes out now. (wfile holds
        # none, and the base class still flushes it after this handler returns.)
        self.rfile.close()
        self.connection.close()


class EndpointServer(ThreadingHTTPServer):
    daemon_threads = True  # hanging answers must not keep the process or a test alive
    request_queue_size = 256  # botocore pools open many connections at once

    def __init__(self, address: tuple[str, int], state: FaultState):
        super().__init__(address, Handler)
        self.state = state


class FaultEndpoint:
    """The endpoint in a background thread: ``with FaultEndpoint(latency_ms=10) as ep: ep.url``."""

    def __init__(self, config: FaultConfig | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 **config_changes: Any):
        config = copy.deepcopy(config or FaultConfig())
        config.update(config_changes)
        self.state = FaultState(config)
        self._address = (host, port)
        self._server: EndpointServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the endpoint is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultEndpoint:
        self.state.stopping.clear()
        self._server = EndpointServer(self._address, self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fault-endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.state.stopping.set()  # wakes handlers holding a slow or hanging answer
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> FaultEndpoint:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Merge config keys (see FaultConfig); returns the whole config."""
        return self.state.configure(changes)

    def reset(self) -> None:
        """Forget accepted entries and stats, and go back to the config given at construction."""
        self.state.reset()

    def accepted(self, since: int = 0) -> list[dict[str, Any]]:
        return self.state.accepted_since(since)

    def ambiguous(self, since: int = 0) -> list[str]:
        """EventIds of entries accepted in requests whose answer the client may not have seen."""
        return self.state.ambiguous_since(since)

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    def accepted_v2(self, since: int = 0) -> list[dict[str, Any]]:
        """Only the eventbridgev2 entries of accepted() (those with "Api": "eventbridgev2")."""
        return self.state.accepted_v2_since(since)

    def recent_signing(self) -> list[dict[str, Any]]:
        """Signature scheme, X-Amz-Region-Set, EndpointId, headers and body of the last 256 PutEvents requests."""
        return self.state.recent_signing()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fault-injecting EventBridge PutEvents endpoint")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", default="{}", help="JSON object of extra config keys")
    args = parser.parse_args(argv)
    config = FaultConfig(seed=args.seed, latency_ms=args.latency_ms)
    config.update(json.loads(args.config))
    endpoint = FaultEndpoint(config, host=args.host, port=args.port).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(endpoint.url, flush=True)
    stop.wait()
    endpoint.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
