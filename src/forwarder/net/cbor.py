"""CBOR request bodies for the rpc-v2-cbor clients (the Custom Event Bus's `eventbridgev2`), as botocore writes them.

botocore's CBOR serializer is written for any shape: for each value it looks its method up by name, works out the
length's encoding in two calls and builds each head from `int.to_bytes`. A Custom Event Bus request of 100 entries
spent about half its CPU there, some 11 us per entry (bench/notes.md). `CborBodies` wraps a client's serializer
and writes the body itself, by the same rules (RFC 8949's shortest definite lengths; a structure's members in the
order the caller's dict holds them, None left out, under their serialized names; a timestamp as tag 1 and epoch
seconds converted by botocore's own serializer), so that the bytes are botocore's: tests/unit/test_cbor.py
compares the two for any PutEvents and PutRawEvents input. Everything else of the request (URL, headers, host
prefix) is still botocore's, and any value this writer does not take as it is (a type botocore converts or
refuses, text UTF-8 cannot encode) goes to botocore's serializer whole, which then gives its body or its error.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any

from botocore.serialize import TIMESTAMP_PRECISION_DEFAULT
from botocore.validate import ParamValidationDecorator

_PACK_DOUBLE = struct.Struct(">d").pack
_UNSIGNED, _NEGATIVE, _BLOB, _TEXT, _LIST, _MAP, _TAG = (major << 5 for major in range(7))
_DOUBLE = bytes([7 << 5 | 27])
_EPOCH_TAG = bytes([_TAG | 1])  # tag 1: epoch seconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Unwritable(Exception):
    """A value this writer does not take as it is: botocore's serializer writes the request instead."""


def head(major: int, length: int) -> bytes:
    """A data item's head: its major type (shifted) and `length`, in the shortest form (RFC 8949, 3.1)."""
    if length < 24:
        return bytes((major | length,))
    if length < 0x100:
        return bytes((major | 24, length))
    if length < 0x10000:
        return bytes((major | 25,)) + length.to_bytes(2, "big")
    if length < 0x100000000:
        return bytes((major | 26,)) + length.to_bytes(4, "big")
    return bytes((major | 27,)) + length.to_bytes(8, "big")  # past 8 bytes: OverflowError, as in botocore


class CborBodies:
    """A client's serializer (`client._serializer`), with the body written here where it can be."""

    def __init__(self, serializer: Any):
        self._serializer = serializer
        self._members: dict[str, dict[str, tuple[bytes, str, Any]]] = {}  # by structure shape name (`_plan`)
        self._writers = {
            "structure": self._structure, "list": self._list, "map": self._map, "string": self._text,
            "blob": self._blob, "timestamp": self._timestamp, "integer": self._integer, "long": self._integer,
            "boolean": self._boolean,
        }

    def serialize_to_request(self, parameters: Any, operation_model: Any) -> dict:
        shape = operation_model.input_shape
        endpoint = operation_model.endpoint or {}
        if shape is None or "hostPrefix" in endpoint:  # a host label would come from the parameters themselves
            return self._serializer.serialize_to_request(parameters, operation_model)
        try:
            out: list[bytes] = []
            self._write(out, parameters, shape)
        except (Unwritable, UnicodeEncodeError, OverflowError, KeyError, TypeError, ValueError, AttributeError):
            return self._serializer.serialize_to_request(parameters, operation_model)
        # URL, headers and protocol feature id from botocore, for an empty input: nothing there depends on it.
        request = self._serializer.serialize_to_request({}, operation_model)
        request["body"] = b"".join(out)
        return request

    def _write(self, out: list[bytes], value: Any, shape: Any) -> None:
        writer = self._writers.get(shape.type_name)
        if writer is None:
            raise Unwritable(shape.type_name)
        writer(out, value, shape)

    def _structure(self, out: list[bytes], value: Any, shape: Any) -> None:
        if type(value) is not dict:
            raise Unwritable("structure")
        members = self._members.get(shape.name) or self._plan(shape)
        at = len(out)
        out.append(b"")  # the map's head, once its members are counted
        count = 0
        for key, item in value.items():
            if item is None:
                continue  # left out, as botocore leaves it out
            name, kind, member = members[key]  # an unknown member: KeyError, and botocore raises its own
            out.append(name)
            if kind == "string" and type(item) is str:  # most members: written here, without a call
                encoded = item.encode("utf-8")
                size = len(encoded)
                out.append(bytes((_TEXT | size,)) if size < 24 else head(_TEXT, size))
                out.append(encoded)
            else:
                self._write(out, item, member)
            count += 1
        out[at] = head(_MAP, count)

    def _plan(self, shape: Any) -> dict[str, tuple[bytes, str, Any]]:
        """A structure's members by key: the member's name as written (its serialized name), its type, its shape."""
        plan = {}
        for key, member in shape.members.items():
            name = member.serialization.get("name", key).encode("utf-8")
            plan[key] = (head(_TEXT, len(name)) + name, member.type_name, member)
        self._members[shape.name] = plan
        return plan

    def _list(self, out: list[bytes], value: Any, shape: Any) -> None:
        if type(value) not in (list, tuple):
            raise Unwritable("list")
        out.append(head(_LIST, len(value)))
        member = shape.member
        for item in value:
            self._write(out, item, member)

    def _map(self, out: list[bytes], value: Any, shape: Any) -> None:
        if type(value) is not dict:
            raise Unwritable("map")
        out.append(head(_MAP, len(value)))
        key_shape, value_shape = shape.key, shape.value
        for key, item in value.items():
            self._write(out, key, key_shape)
            self._write(out, item, value_shape)

    @staticmethod
    def _text(out: list[bytes], value: Any, shape: Any) -> None:
        if type(value) is not str:
            raise Unwritable("string")
        encoded = value.encode("utf-8")
        out.append(head(_TEXT, len(encoded)))
        out.append(encoded)

    @staticmethod
    def _blob(out: list[bytes], value: Any, shape: Any) -> None:
        if type(value) is str:
            value = value.encode("utf-8")
        elif type(value) not in (bytes, bytearray):
            raise Unwritable("blob")  # a file-like object: botocore reads it
        out.append(head(_BLOB, len(value)))
        out.append(bytes(value))

    def _timestamp(self, out: list[bytes], value: Any, shape: Any) -> None:
        if not isinstance(value, datetime):
            raise Unwritable("timestamp")  # text or a number: botocore parses it
        out.append(_EPOCH_TAG)
        seconds = self._epoch_seconds(value)
        if type(seconds) is float:
            out.append(_DOUBLE + _PACK_DOUBLE(seconds))  # finite: a datetime's epoch seconds
        else:
            self._integer(out, seconds, None)

    def _epoch_seconds(self, value: datetime) -> int | float:
        """botocore's epoch seconds of `value` (`_timestamp_unixtimestamp` at its default precision): whole seconds
        of the UTC wall time, and the microseconds added before one division. Worked out here for a UTC time (what
        the entry builder makes), in a tenth of botocore's CPU; by botocore's serializer for any other."""
        if value.tzinfo is not UTC or self._serializer._timestamp_precision != TIMESTAMP_PRECISION_DEFAULT:
            return self._serializer._convert_timestamp_to_str(value)
        since = value - _EPOCH
        seconds = since.days * 86_400 + since.seconds
        return (seconds * 10**6 + since.microseconds) / 10**6 if since.microseconds else seconds

    @staticmethod
    def _integer(out: list[bytes], value: Any, shape: Any) -> None:
        if type(value) is not int:
            raise Unwritable("integer")
        out.append(head(_UNSIGNED, value) if value >= 0 else head(_NEGATIVE, -1 - value))

    @staticmethod
    def _boolean(out: list[bytes], value: Any, shape: Any) -> None:
        if type(value) is not bool:
            raise Unwritable("boolean")
        out.append(b"\xf5" if value else b"\xf4")


def write_cbor_bodies(client: Any) -> None:
    """Let `client` (an rpc-v2-cbor client) have its request bodies written by `CborBodies`. botocore keeps its
    serializer in a private attribute (as it keeps the HTTP session wire.py reads behind a proxy); with parameter
    validation on, that is a validating wrapper, and `CborBodies` goes inside it, so that what it is given was
    validated first and its own call for the request's frame (an empty input) is not."""
    holder = client._serializer
    if isinstance(holder, ParamValidationDecorator):
        if not isinstance(holder._serializer, CborBodies):
            holder._serializer = CborBodies(holder._serializer)
    elif not isinstance(holder, CborBodies):
        client._serializer = CborBodies(holder)
