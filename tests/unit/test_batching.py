"""Packing entries into requests: never over a limit, never more requests than needed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from forwarder.publish.batching import _next_fit, lower_bound, pack
from forwarder.targets.limits import MAX_ENTRIES_PER_REQUEST as MAX_ENTRIES

LIMIT = 1000


def sizes_of(requests, sizes):
    return [[sizes[key] for key in request] for request in requests]


@given(st.lists(st.integers(min_value=1, max_value=LIMIT - 1), max_size=300))
def test_every_entry_once_and_no_request_over_a_limit(sizes):
    requests = pack(list(enumerate(sizes)), LIMIT, MAX_ENTRIES)
    assert sorted(key for request in requests for key in request) == list(range(len(sizes)))
    for request in sizes_of(requests, sizes):
        assert 1 <= len(request) <= MAX_ENTRIES
        assert sum(request) < LIMIT


@given(st.lists(st.integers(min_value=1, max_value=LIMIT - 1), max_size=300))
def test_never_more_requests_than_packing_in_arrival_order(sizes):
    requests = pack(list(enumerate(sizes)), LIMIT, MAX_ENTRIES)
    assert lower_bound(sizes, LIMIT, MAX_ENTRIES) <= len(requests) <= len(_next_fit(list(enumerate(sizes)), LIMIT, 10))


@given(st.lists(st.integers(min_value=1, max_value=LIMIT // MAX_ENTRIES - 1), max_size=300))
def test_small_entries_need_exactly_one_request_per_ten(sizes):
    assert len(pack(list(enumerate(sizes)), LIMIT, MAX_ENTRIES)) == -(-len(sizes) // MAX_ENTRIES)


def test_small_entries_fill_requests_of_ten_in_order():
    requests = pack([(i, 100) for i in range(25)], 1024 * 1024, MAX_ENTRIES)
    assert requests == [list(range(0, 10)), list(range(10, 20)), list(range(20, 25))]


def test_the_byte_limit_is_exclusive():
    assert pack([(0, 500), (1, 500)], 1000, MAX_ENTRIES) == [[0], [1]]
    assert pack([(0, 499), (1, 500)], 1000, MAX_ENTRIES) == [[0, 1]]


def test_mixed_sizes_use_fewer_requests_than_arrival_order():
    items = [(0, 600), (1, 500), (2, 400), (3, 500)]  # in order: [600] [500 400] [500] = 3
    assert len(pack(items, 1001, MAX_ENTRIES)) == 2  # [600 400] [500 500]


def test_nothing_to_pack():
    assert pack([], LIMIT, MAX_ENTRIES) == []
