"""What EventBridge refuses in a Detail, read from its JSON text at C speed: one pass per check, no walk in Python.

EventBridge refuses (MalformedDetail) a Detail nested deeper than 1,000 levels, and numbers JSON or int64
cannot hold: `NaN` and `Infinity`, a number that overflows a double, an integer outside int64. Python's JSON
reader takes all of these, so a body is parsed with it as it is (the record view's value, with nothing lost)
and `refusal` then reads its *text*, which must be JSON that reader took:

- outside strings, valid JSON holds only ASCII brackets, commas, colons, whitespace, numbers and the literals,
  so strings are cut out first (escaped backslashes and quotes removed, then a split on `"`), when needed;
- a letter `N` or `I` outside strings can only be `NaN` or `Infinity`;
- only a number with an exponent or with 19 digits in a row can break a double or int64: a regex finds those
  few, which are then read one by one;
- the nesting depth is that of the brackets left once everything else is deleted (`bytes.translate`): each
  `replace(b"()", b"")` removes the innermost level, so a body nested 5 deep is gone after 5 passes; past a few
  passes the rest is summed with `itertools.accumulate` (still C, linear).

Depth is read from the text EventBridge receives: of an object's duplicate keys the reader keeps the last, and a
deeper subtree an earlier duplicate held still counts here (stricter than the parsed value; the record then goes
on wrapped as text). The cost per byte is a few C passes, where walking the parsed value cost a Python step per
node (seconds per megabyte at a 256 MB function's share). tests/unit/test_detail_limits.py checks every verdict
against the strict reader and the walk this replaced.
"""

from __future__ import annotations

import math
import re
from itertools import accumulate

from forwarder.core.fast_json import DIGITS_AS_ZEROS, LONG_RUN

MAX_DETAIL_DEPTH = 1000  # EventBridge rejects a Detail nested deeper (MalformedDetail)
DEEPER = f"nested deeper than {MAX_DETAIL_DEPTH} levels"
NOT_FINITE = "a number that is not finite"
BEYOND_INT64 = "an integer outside int64"

_INT64 = range(-(2**63), 2**63)
# A number token (never part of one: not after a digit, dot, sign or exponent) that could overflow a double or
# int64: one with an exponent, or with 19 digits or more before any fraction.
_RISKY_NUMBER = re.compile(rb"(?<![0-9.eE+-])-?(?:[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+|[0-9]{19,}(?:\.[0-9]+)?)")
# Brackets as "(" and ")"; every other byte deleted.
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_STEP = tuple(1 if byte == ord("(") else -1 for byte in range(256))
_PEEL_PASSES = 8  # innermost levels removed by replace before the rest is summed


def refusal(text: str, extra: int = 0, digits_as_zeros: bytes | None = None) -> str | None:
    """Why EventBridge would refuse `text` (JSON that `json.loads` took) nested `extra` levels deeper, or None.

    Each check starts with a cheap test over the whole text, strings and all (a few memchr-speed passes), and
    cuts the strings out only when that test cannot rule the problem out: a usual body pays about a microsecond.
    `digits_as_zeros`: `fast_json.digits_as_zeros(text)`, when the parse made it already.
    """
    outside = None
    if "NaN" in text or "Infinity" in text:
        outside = _outside_strings(text)
        if b"N" in outside or b"I" in outside:
            return NOT_FINITE
    if digits_as_zeros is None:
        digits_as_zeros = text.encode("utf-8", "surrogatepass").translate(DIGITS_AS_ZEROS)
    if digits_as_zeros.find(b"0e") >= 0 or digits_as_zeros.find(LONG_RUN) >= 0:  # find: see DIGITS_AS_ZEROS
        outside = outside or _outside_strings(text)
        for match in _RISKY_NUMBER.finditer(outside):  # the regex tries every position: only when needed
            problem = _number_problem(match.group())
            if problem:
                return problem
    if len(text) + extra <= MAX_DETAIL_DEPTH or text.count("[") + text.count("{") + extra <= MAX_DETAIL_DEPTH:
        # cannot be too deep
        return None
    return DEEPER if depth(outside or _outside_strings(text)) + extra > MAX_DETAIL_DEPTH else None


def depth(outside: bytes) -> int:
    """How deep the brackets of `outside` nest (JSON without its strings, so they are balanced)."""
    skeleton = outside.translate(_BRACKETS, _NOT_BRACKETS)
    levels = 0
    while skeleton and levels < _PEEL_PASSES:
        skeleton = skeleton.replace(b"()", b"")
        levels += 1
    return levels + (max(accumulate(map(_STEP.__getitem__, skeleton))) if skeleton else 0)


def _outside_strings(text: str) -> bytes:
    """The JSON text without its strings, as ASCII bytes (everything outside strings is ASCII in JSON)."""
    if "\\" in text:
        # Backslashes occur only inside strings, and a run of them starts an escape: taken in pairs from its
        # left, an even run is escaped backslashes, an odd one ends escaping the character after it. So with
        # the pairs gone, every `\"` left is an escaped quote, and once those are gone every quote delimits.
        text = text.replace("\\\\", "").replace('\\"', "")
    # Every other piece of a split on quotes is a string's content.
    return "".join(text.split('"')[::2]).encode("ascii")


def _number_problem(token: bytes) -> str | None:
    if any(mark in token for mark in (b".", b"e", b"E")):
        return None if math.isfinite(float(token)) else NOT_FINITE
    digits = len(token) - token.startswith(b"-")
    return BEYOND_INT64 if digits > 19 or int(token) not in _INT64 else None
