"""Entry sizes -> requests: as few PutEvents requests as the count and byte limits allow.

Pure functions of sizes and limits (the target says how many entries a request takes), so they can be
property-tested without any AWS in sight. AWS's rule is that the entries of one request must total
*less than* the byte limit.
"""

from __future__ import annotations

from collections.abc import Sequence


def fits_alone(size: int, max_bytes: int) -> bool:
    return size < max_bytes


def pack(keys: list[int], sizes: Sequence[int], max_bytes: int, max_entries: int) -> list[list[int]]:
    """Group `keys` (the size of `keys[i]` is `sizes[i]`) into lists of keys; every size must fit alone.

    Packing in arrival order is optimal whenever it reaches the lower bound (always, for
    records of similar size); otherwise first-fit decreasing usually saves requests.
    """
    if not keys:
        return []
    if max(sizes) * max_entries < max_bytes:
        # No run of `max_entries` entries can reach the byte limit: packing in arrival order cuts the keys into
        # runs of `max_entries`, which is the lower bound by count. Cut here in C rather than entry by entry in
        # `_next_fit`, as for the usual batch of small records (the same requests: tests/unit/test_batching.py).
        return [keys[start:start + max_entries] for start in range(0, len(keys), max_entries)]
    in_order = _next_fit(keys, sizes, max_bytes, max_entries)
    if len(in_order) <= lower_bound(sizes, max_bytes, max_entries):
        return in_order
    decreasing = sorted(zip(keys, sizes, strict=True), key=lambda item: item[1], reverse=True)
    by_size = _first_fit(decreasing, max_bytes, max_entries)
    return by_size if len(by_size) < len(in_order) else in_order


def lower_bound(sizes: Sequence[int], max_bytes: int, max_entries: int) -> int:
    """No packing can use fewer requests than this."""
    by_count = -(-len(sizes) // max_entries)
    by_bytes = -(-sum(sizes) // (max_bytes - 1))
    return max(by_count, by_bytes)


def _next_fit(keys: Sequence[int], sizes: Sequence[int], max_bytes: int, max_entries: int) -> list[list[int]]:
    requests: list[list[int]] = []
    request: list[int] = []
    total = 0
    for key, size in zip(keys, sizes, strict=True):
        if request and (len(request) == max_entries or total + size >= max_bytes):
            requests.append(request)
            request, total = [], 0
        request.append(key)
        total += size
    requests.append(request)
    return requests


def _first_fit(items: Sequence[tuple[int, int]], max_bytes: int, max_entries: int) -> list[list[int]]:
    requests: list[list[int]] = []
    totals: list[int] = []
    for key, size in items:
        for index, keys in enumerate(requests):
            if len(keys) < max_entries and totals[index] + size < max_bytes:
                keys.append(key)
                totals[index] += size
                break
        else:
            requests.append([key])
            totals.append(size)
    return requests
