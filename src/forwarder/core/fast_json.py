"""orjson where it pays, with exactly what the standard library's json gives, wherever the two could differ.

orjson reads and writes JSON in a fraction of json's CPU (BENCHMARKS.md), but not always alike. It is used only
where its answer is json's; json answers everywhere else, and everywhere when orjson is not installed (the
library and the command need botocore alone; the function's lock holds orjson):

- reading (`loads`): orjson reads an integer outside [-2**63, 2**64) as a float where json gives the integer;
  such an integer has 19 digits or more, so a text with a run of 19 digits is read by json. Whatever else orjson
  takes, it reads as json does; whatever it refuses (lone-surrogate escapes, NaN and Infinity, a number beyond a
  double, nesting past 1,024 levels, bytes that are not UTF-8 or carry a BOM, UTF-16) is read by json, which
  gives its value or raises its own error. tests/unit/test_fast_json.py holds both to that over any text.
- writing (`dumps`, `dumps_record`): orjson writes a float below 1e-4 or not finite otherwise than json
  (`1e-7` for `1e-07`, `null` for NaN), and serializes what json refuses (datetimes, enums, dataclasses). So it
  writes only flat records (`flat_records`: dicts of strings, numbers it writes alike, booleans, None and lists
  of strings, which is what a PutEvents entry on the wire path and a Detail wrapper hold); what it refuses (a
  lone surrogate, an integer beyond 64 bits) goes to json.
"""

from __future__ import annotations

import json
import math
from typing import Any

try:
    import orjson
except ImportError:  # the library without the [lambda] extra: json alone, with the same results
    orjson = None

# Digits as zeros (and the exponent's E as e): a run of 19 digits is then a run of 19 zeros, and an exponent
# `0e`, each found by one substring search (C speed). Searched with bytes.find: `needle in data` on bytes costs
# two to five times as much in CPython 3.13 (it takes the needle through the buffer protocol).
DIGITS_AS_ZEROS = bytes.maketrans(b"123456789E", b"000000000e")
LONG_RUN = b"0" * 19
# How a JSON text orjson reads may start, as text and as bytes; a body that starts otherwise (plain text, NaN, a BOM,
# UTF-16) goes to json at once: a failed orjson.loads would only add its cost to json's.
_OPENERS = frozenset([*'{["-0123456789tfn \t\n\r', *(bytes([byte]) for byte in b'{["-0123456789tfn \t\n\r')])


def digits_as_zeros(text: str | bytes) -> bytes:
    """`text` as bytes with every digit a zero and every E an e (detail_limits.refusal reads the same bytes: pass
    them on)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return data.translate(DIGITS_AS_ZEROS)


# `orjson_loads`' answer when orjson did not read the text: json must.
JSON_READS = object()


def loads(data: str | bytes, zeros: bytes | None = None) -> Any:
    """`json.loads(data)`: its value, or its exception. `zeros`: `digits_as_zeros(data)`, if already made."""
    value = orjson_loads(data, zeros)
    return json.loads(data) if value is JSON_READS else value


def orjson_loads(data: str | bytes, zeros: bytes | None = None) -> Any:
    """orjson's value of `data` where it is json's, else JSON_READS (json's value differs, or json raises).

    A value read here held no NaN or Infinity, no number beyond a double (orjson refuses them all), no integer of 19
    digits or more (ruled out before it reads), and nothing nested past 1,024 levels."""
    if orjson is not None and data[:1] in _OPENERS:  # else no JSON value (text): json alone fails faster
        if zeros is None:
            zeros = digits_as_zeros(data)
        if zeros.find(LONG_RUN) < 0:  # no integer orjson would read as a float
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError:
                pass  # json's value, or json's error
    return JSON_READS


def flat_records(records: Any) -> bool:
    """True if `records` is a list of dicts whose values are strings, integers, booleans, None, lists of strings,
    or floats orjson writes as json does (finite, zero or at least 1e-4 in size): what `dumps` may give orjson
    (an integer beyond 64 bits it refuses, and json writes)."""
    if type(records) is not list:
        return False
    for record in records:
        if type(record) is not dict:
            return False
        for value in record.values():
            kind = type(value)
            if kind is str or kind is int or kind is bool or value is None:
                continue
            if kind is float:
                if not (1e-4 <= abs(value) < math.inf or value == 0.0):
                    return False
            elif kind is not list or any(type(item) is not str for item in value):
                return False
    return True


def dumps(value: dict[str, list[dict]]) -> bytes | None:
    """Compact UTF-8 JSON of `{key: records}`, as `json.dumps(value, separators=(",", ":"), ensure_ascii=False)`
    writes it, when `flat_records` holds for every value and orjson writes it; None where json must (orjson not
    installed, records of other shapes, a lone surrogate)."""
    if orjson is None or not all(map(flat_records, value.values())):
        return None
    return _orjson_dumps(value)


def dumps_record(record: Any) -> bytes | None:
    """`json.dumps(record, separators=(",", ":"), ensure_ascii=False)` as UTF-8, when `record` is one dict
    `flat_records` allows and orjson writes it; else None (json must write it)."""
    if orjson is None or not flat_records([record]):
        return None
    return _orjson_dumps(record)


def _orjson_dumps(value: Any) -> bytes | None:
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate (json escapes it), an integer beyond 64 bits, a
        return None  # key that is not exactly a str
