"""What PutEvents takes, read from botocore's own service model: an entry's limits, and entries per request.

An entry that breaks a limit the model states for PutEventsRequestEntry (a length, a type, a pattern,
a Time botocore could not send) would make the service, or botocore, refuse its whole request: it is
refused alone instead. `EntryRules` holds those limits for one service (`events` for classic buses,
`eventbridgev2` for a Custom Event Bus), and the most entries one request may carry; `bulk.prepare`
checks every field of a caller's entry against them, `entries.build_entry` only the fields a record
can push past them. Read from the model, not copied, so that they follow botocore's data files.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import botocore.loaders
import botocore.model
from botocore.utils import parse_to_aware_datetime

from forwarder.core import fast_json

MAX_DETAIL_TYPE_CHARS = 128  # the API reference's limit (the events model states none; eventbridgev2's does)

# What botocore's validator takes for the model types an entry has (timestamps and structures apart).
_PYTHON_TYPES = {"string": str, "list": list | tuple, "blob": bytes | bytearray | str, "map": Mapping}


@dataclass(frozen=True, slots=True)
class Limit:
    """One member of an entry shape: its model type and what the model bounds (lengths, a pattern)."""

    kind: str  # the shape's type_name: string, list, structure, timestamp
    low: int = 0
    high: float = math.inf
    pattern: re.Pattern | None = None
    member: Limit | None = None  # of a list
    members: Mapping[str, Limit] = field(default_factory=dict)  # of a structure
    key: Limit | None = None  # of a map
    required: tuple[str, ...] = ()  # of a structure
    value: Limit | None = None  # of a map

    @classmethod
    def of(cls, shape: botocore.model.Shape) -> Limit:
        meta = shape.metadata
        pattern = meta.get("pattern")
        return cls(
            kind=shape.type_name,
            low=meta.get("min", 0),
            high=meta.get("max", math.inf),
            # The service matches the whole value (botocore checks no pattern; the service then refuses the request).
            pattern=re.compile(pattern) if pattern else None,
            member=cls.of(shape.member) if shape.type_name == "list" else None,
            members={n: cls.of(s) for n, s in shape.members.items()} if shape.type_name == "structure" else {},
            required=tuple(shape.required_members) if shape.type_name == "structure" else (),
            key=cls.of(shape.key) if shape.type_name == "map" else None,
            value=cls.of(shape.value) if shape.type_name == "map" else None,
        )

    def problem(self, name: str, value: Any) -> str | None:
        """What is wrong with `value` for this member, or None; never raises."""
        if self.kind == "timestamp":
            return _time_problem(name, value)
        if self.kind == "structure":
            return _structure_problem(name, value, self.members, self.required)
        expected = _PYTHON_TYPES.get(self.kind)
        if expected is None or not isinstance(value, expected):  # a kind not known here is refused, never let by
            return f"{name} must be a {self.kind}"
        if len(value) < self.low:
            return f"{name} must not be empty" if self.low == 1 else f"{name} is shorter than {self.low}"
        if len(value) > self.high:
            unit = {"string": "characters", "blob": "bytes"}.get(self.kind, "items")
            return f"{name} is longer than {self.high} {unit}"
        if self.pattern is not None and not self.pattern.fullmatch(value):
            return f"{name} does not match the pattern {self.pattern.pattern!r}"
        if self.member is not None:
            return next(filter(None, (self.member.problem(f"{name}[{i}]", item) for i, item in enumerate(value))), None)
        if self.key is not None and self.value is not None:
            return next(filter(None, (self.key.problem(f"{name} key", key)
                                      or self.value.problem(f"{name}[{_shown(key)}]", item)
                                      for key, item in value.items())), None)
        return None


class EntryRules:
    """The limits of one service's PutEvents entries, derived from botocore's model of its Entries list."""

    def __init__(self, entries: botocore.model.ListShape):
        self.max_entries: int = entries.metadata["max"]  # entries per request
        self.members = {name: Limit.of(member) for name, member in entries.member.members.items()}
        self.required = tuple(entries.member.required_members)
        limit = self.members.get
        # What build_entry needs where a record can exceed it (Source and DetailType overrides, trace headers).
        self.source_chars = limit("Source", Limit("string")).high
        self.detail_type_chars = min(MAX_DETAIL_TYPE_CHARS, limit("DetailType", Limit("string")).high)
        self.trace_chars = limit("TraceHeader", Limit("string")).high
        resources = limit("Resources", Limit("list", member=Limit("string")))
        self.resource_items, self.resource_chars = resources.high, resources.member.high

    def problem(self, fields: Mapping[str, Any]) -> str | None:
        """Every field against the model: what is wrong with the entry, or None."""
        return _structure_problem("entry", fields, self.members, self.required)

    def member_problem(self, name: str, value: Any) -> str | None:
        return self.members[name].problem(name, value)


@functools.cache
def entry_rules(service: str, operation: str = "PutEvents") -> EntryRules:
    """The rules of `events` (classic buses) or `eventbridgev2` (Custom Event Bus), read once per process;
    `operation` PutRawEvents: the Custom Event Bus's raw entries (Data, Metadata, SystemMetadata).

    Through botocore's loader (the same data files a session reads, without building a session).
    """
    return EntryRules(request_shape(service, operation).members["Entries"])


@functools.cache
def request_limit(service: str, operation: str, member: str) -> Limit:
    """The model's limits of one request member (PutRawEvents' SchemaRegistryConfiguration, say)."""
    return Limit.of(request_shape(service, operation).members[member])


def request_shape(service: str, operation: str) -> botocore.model.StructureShape:
    return _service_model(service).operation_model(operation).input_shape


@functools.cache
def _service_model(service: str) -> botocore.model.ServiceModel:
    return botocore.model.ServiceModel(data_loader().load_service_model(service, "service-2"))


@functools.cache
def data_loader() -> botocore.loaders.Loader:
    """The loader these limits read botocore's data with; it keeps what it parsed, so a session given it
    (forwarder.build_forwarder) makes its clients without parsing the same service model again (about 10 ms
    of a cold start). Its files are read by orjson where installed (`DataFiles`)."""
    return botocore.loaders.Loader(file_loader=DataFiles())


class DataFiles(botocore.loaders.JSONFileLoader):
    """botocore's JSON data files read by fast_json (orjson): the same values, in plain dicts rather than
    OrderedDicts (botocore only iterates and looks up), for a third of the CPU. The endpoints file (1.2 MB)
    alone took about 17 ms of every cold start through json and OrderedDict. Without orjson: botocore's own
    reading."""

    def _load_file(self, full_path: str, open_method: Any) -> Any:
        if fast_json.orjson is None or not os.path.isfile(full_path):
            return super()._load_file(full_path, open_method)
        with open_method(full_path, "rb") as file:
            return fast_json.loads(file.read())


def _structure_problem(
    name: str, value: Any, members: Mapping[str, Limit], required: tuple[str, ...] = ()
) -> str | None:
    if not isinstance(value, Mapping):
        return f"{name} must be an object"
    missing = [key for key in required if value.get(key) is None]
    if missing:
        return f"{name} lacks the required {', '.join(missing)}"
    unknown = sorted(str(key) for key in value if key not in members)
    if unknown:
        return f"unknown field(s) {unknown} in {name}; it takes {sorted(members)}"
    for key, item in value.items():
        problem = members[key].problem(key if name == "entry" else f"{name}.{key}", item)
        if problem:
            return problem
    return None


def utc_time(value: Any) -> datetime:
    """A Timestamp as botocore (and so the AWS CLI) reads it, as an aware UTC datetime; ValueError if none.

    botocore.utils.parse_to_aware_datetime: a datetime (naive means UTC), epoch seconds as a number or as a
    string ("1412195400"), or ISO 8601 / RFC 3339 text in any case ("2014-10-01t20:30:00.000z"), read by
    dateutil. Refused here too: what botocore would fail to send (beyond a datetime's years 1 to 9999 in
    UTC, which its serializer raises on), and booleans, which are not times.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    try:
        return parse_to_aware_datetime(value).astimezone(UTC)
    # dateutil and datetime raise all of these on odd input; RuntimeError: epoch seconds beyond any datetime.
    except (ValueError, TypeError, AttributeError, OverflowError, OSError, RuntimeError) as error:
        raise ValueError(f"{type(error).__name__}: {error}") from None


def _time_problem(name: str, value: Any) -> str | None:
    try:
        utc_time(value)
    except ValueError as error:
        return f"{name} {_shown(value)} is not a timestamp (RFC 3339, or epoch seconds) botocore can send: {error}"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


CLASSIC_RULES = entry_rules("events")
# The classic API's entries per request: what a publisher packs unless its target says otherwise.
MAX_ENTRIES_PER_REQUEST = CLASSIC_RULES.max_entries
