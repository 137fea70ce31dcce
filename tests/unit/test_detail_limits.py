"""detail_limits reads from a Detail's text what EventBridge refuses: the same verdict, for any JSON text, as the
strict reader (hooks refusing NaN, non-finite floats and big integers) and the walk over every node it replaced."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from forwarder.entries.detail_limits import BEYOND_INT64, DEEPER, NOT_FINITE, depth, refusal
from forwarder.entries.json_entries import to_detail

# ---- The check this module replaced (the entry builder and shaping before it), kept here as the oracle. ----

OLD_MAX_DEPTH = 1000
OLD_INT64 = range(-(2**63), 2**63)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _int64(digits: str) -> int:
    value = int(digits)
    if value not in OLD_INT64:
        raise ValueError("integer outside int64")
    return value


def _finite_float(digits: str) -> float:
    value = float(digits)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


OLD_STRICT = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_int64, parse_float=_finite_float)


def old_depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def old_to_detail(body: str) -> str:
    dump = json.dumps  # as dump_json wrote it (compact, ensure_ascii off)
    text = body[1:] if body.startswith("\ufeff") else body
    try:
        value = OLD_STRICT.decode(text)
    except (ValueError, RecursionError):
        return dump({"data": body}, ensure_ascii=False, separators=(",", ":"))
    extra = 0 if isinstance(value, dict) else 1
    if text.count("{") + text.count("[") + extra > OLD_MAX_DEPTH and old_depth(value) + extra > OLD_MAX_DEPTH:
        return dump({"data": body}, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, dict):
        return text
    return dump({"data": value}, ensure_ascii=False, separators=(",", ":"))


def old_unsendable(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            if level > OLD_MAX_DEPTH:
                return True
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
        elif isinstance(node, float):
            if not math.isfinite(node):
                return True
        elif isinstance(node, int) and not isinstance(node, bool) and node not in OLD_INT64:
            return True
    return False


# ---- JSON texts that reach every branch: numbers at the edges, strings full of brackets, deep nesting. ----

EDGE_NUMBERS = [
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "1e308", "1e309", "1.7976931348623157e308", "1.7976931348623159e308", "-1e309",
    "1E+2", "1e-400", "0.0000000000000000000001", "1" * 400 + ".5", "0." + "1" * 400, "12345678901234567890.5e-10",
    "NaN", "Infinity", "-Infinity", "-0", "0e0", "1234567890123456789", "12345678901234567890", "1E309", "-2E+400",
    "1.5E308",
]
NUMBERS = st.one_of(
    st.sampled_from(EDGE_NUMBERS),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(json.dumps),
    st.builds("{}.{}{}{}{}".format, st.integers(0, 10**25), st.integers(0, 999), st.sampled_from("eE"),
              st.sampled_from(["", "+", "-"]), st.integers(0, 400)),
)
STRINGS = st.text(alphabet=st.sampled_from('[]{}"\\NIe9 ,:x\u00e9\u2028'), max_size=12).flatmap(
    lambda text: st.sampled_from([json.dumps(text), json.dumps(text, ensure_ascii=False)])
)
LEAVES = NUMBERS | STRINGS | st.sampled_from(["true", "false", "null"])


def _container(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    arrays = st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]")
    # Keys unique per object: of duplicate keys the reader keeps the last, so the walk over the parsed value
    # missed a deeper subtree an earlier duplicate held, which the text EventBridge receives still has (the
    # text check counts it: stricter, and the record then goes on wrapped as text).
    objects = st.lists(st.tuples(STRINGS, children), max_size=4, unique_by=lambda pair: json.loads(pair[0])).map(
        lambda pairs: "{" + ", ".join(f"{key}: {value}" for key, value in pairs) + "}"
    )
    return arrays | objects


def _nested(text: str, levels: int, kind: str) -> str:
    if kind == "array":
        return "[" * levels + text + "]" * levels
    return '{"k\\"[":' * levels + text + "}" * levels


DEEP = st.sampled_from([0, 1, 2, 500, 997, 998, 999, 1000, 1001, 1500])
JSON_TEXTS = st.recursive(LEAVES, _container, max_leaves=12).flatmap(
    lambda text: st.builds(_nested, st.just(text), DEEP, st.sampled_from(["array", "object"]))
)


@hypothesis_settings(max_examples=400, deadline=None)
@given(JSON_TEXTS, st.booleans())
def test_the_detail_of_any_json_body_is_what_the_strict_reader_and_the_walk_gave(text, bom):
    body = ("\ufeff" if bom else "") + text
    assert to_detail(body) == old_to_detail(body)


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('[]{}"\\:,0123456789eE.-+NaI tfrulsn'), max_size=40))
def test_the_detail_of_any_text_is_what_the_strict_reader_and_the_walk_gave(body):
    assert to_detail(body) == old_to_detail(body)


def _deep_value(levels: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(alphabet='[]{}"\\ab', max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=10,
).flatmap(lambda leaf: st.builds(_deep_value, DEEP, st.just(leaf)))


@hypothesis_settings(max_examples=300, deadline=None)
@given(VALUES)
def test_a_shaped_value_is_refused_exactly_when_the_walk_refused_it(value):
    try:
        text = json.dumps({"data": value}, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        return
    assert (refusal(text) is not None) == old_unsendable({"data": value})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"n": NaN}', NOT_FINITE),
        ('{"n": -Infinity}', NOT_FINITE),
        ('{"n": 1e309}', NOT_FINITE),
        ('{"n": 1E309}', NOT_FINITE),
        ('{"n": -2E+400}', NOT_FINITE),
        ('{"n": 9223372036854775808}', BEYOND_INT64),
        ('{"n": -9223372036854775809}', BEYOND_INT64),
        ('{"n": -9223372036854775808, "s": "NaN 99999999999999999999"}', None),
        ("[" * 1001 + "]" * 1001, DEEPER),
        ("[" * 1000 + "]" * 1000, None),
        ('{"s": "' + "[" * 2000 + '"}', None),
    ],
)
def test_what_eventbridge_refuses_is_named(text, problem):
    assert refusal(text) == problem


def test_depth_peels_shallow_levels_and_sums_the_rest():
    assert depth(b"") == 0
    assert depth(b"[1,[2,[3]],{}]") == 3
    assert depth(b"[" * 40 + b"]" * 40 + b"[[]]" * 3) == 40
