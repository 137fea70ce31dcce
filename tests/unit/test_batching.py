"""Packing entries into requests: never over a limit, never more requests than needed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.publish.batching import _first_fit, _next_fit, lower_bound, pack
from forwarder.targets.limits import MAX_ENTRIES_PER_REQUEST as MAX_ENTRIES

LIMIT = 1000


def pack_sizes(sizes: list[int], limit: int = LIMIT) -> list[list[int]]:
    return pack(list(range(len(sizes))), sizes, limit, MAX_ENTRIES)


def sizes_of(requests, sizes):
    return [[sizes[key] for key in request] for request in requests]


@given(st.lists(st.integers(min_value=1, max_value=LIMIT - 1), max_size=300))
def test_every_entry_once_and_no_request_over_a_limit(sizes):
    requests = pack_sizes(sizes)
    assert sorted(key for request in requests for key in request) == list(range(len(sizes)))
    for request in sizes_of(requests, sizes):
        assert 1 <= len(request) <= MAX_ENTRIES
        assert sum(request) < LIMIT


@given(st.lists(st.integers(min_value=1, max_value=LIMIT - 1), max_size=300))
def test_never_more_requests_than_packing_in_arrival_order(sizes):
    requests = pack_sizes(sizes)
    keys = list(range(len(sizes)))
    assert lower_bound(sizes, LIMIT, MAX_ENTRIES) <= len(requests) <= len(_next_fit(keys, sizes, LIMIT, 10))


@given(st.lists(st.integers(min_value=1, max_value=LIMIT // MAX_ENTRIES - 1), max_size=300))
def test_small_entries_need_exactly_one_request_per_ten(sizes):
    assert len(pack_sizes(sizes)) == -(-len(sizes) // MAX_ENTRIES)


def packed_entry_by_entry(keys: list[int], sizes: list[int], max_bytes: int, max_entries: int) -> list[list[int]]:
    """`pack` as it was before its shortcut for small entries: arrival order, or first-fit decreasing if it saves."""
    if not keys:
        return []
    in_order = _next_fit(keys, sizes, max_bytes, max_entries)
    if len(in_order) <= lower_bound(sizes, max_bytes, max_entries):
        return in_order
    by_size = sorted(zip(keys, sizes, strict=True), key=lambda item: item[1], reverse=True)
    decreasing = _first_fit(by_size, max_bytes, max_entries)
    return decreasing if len(decreasing) < len(in_order) else in_order


@settings(max_examples=300)
@given(st.integers(min_value=1, max_value=12), st.data())
def test_the_shortcut_for_small_entries_packs_as_entry_by_entry_does(max_entries, data):
    # Sizes about the shortcut's bound (the largest times the entries per request just below the byte limit) or
    # anywhere below the limit, keys in any order and repeated: the same requests, in the same order, as packing
    # entry by entry.
    bound = LIMIT // max_entries
    near = st.integers(min_value=max(0, bound - 3), max_value=min(LIMIT - 1, bound + 3))
    sizes = data.draw(st.lists(st.just(min(bound, LIMIT - 1)) | near | st.integers(0, LIMIT - 1), max_size=60))
    keys = data.draw(st.lists(st.integers(0, 100), min_size=len(sizes), max_size=len(sizes)))
    assert pack(keys, sizes, LIMIT, max_entries) == packed_entry_by_entry(keys, sizes, LIMIT, max_entries)


def test_small_entries_fill_requests_of_ten_in_order():
    requests = pack_sizes([100] * 25, 1024 * 1024)
    assert requests == [list(range(0, 10)), list(range(10, 20)), list(range(20, 25))]


def test_the_byte_limit_is_exclusive():
    assert pack_sizes([500, 500]) == [[0], [1]]
    assert pack_sizes([499, 500]) == [[0, 1]]
    assert pack_sizes([99] * 10 + [100], 1000) == [list(range(10)), [10]]  # at the shortcut's bound: 10 x 100 = 1000
    assert pack_sizes([100] * 10, 1000) == [list(range(9)), [9]]


def test_mixed_sizes_use_fewer_requests_than_arrival_order():
    sizes = [600, 500, 400, 500]  # in order: [600] [500 400] [500] = 3
    assert len(pack_sizes(sizes, 1001)) == 2  # [600 400] [500 500]


def test_nothing_to_pack():
    assert pack([], [], LIMIT, MAX_ENTRIES) == []
