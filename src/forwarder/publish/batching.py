"""Entry sizes -> requests: as few PutEvents requests as the count and byte limits allow.

Pure functions of sizes and limits (the target says how many entries a request takes), so they can be
property-tested without any AWS in sight. AWS's rule is that the entries of one request must total
*less than* the byte limit.
"""

from __future__ import annotations

from collections.abc import Sequence


def fits_alone(size: int, max_bytes: int) -> bool:
    return size < max_bytes


def pack(items: Sequence[tuple[int, int]], max_bytes: int, max_entries: int) -> list[list[int]]:
    """Group (key, size) pairs into lists of keys; every size must fit alone.

    Packing in arrival order is optimal whenever it reaches the lower bound (always, for
    records of similar size); otherwise first-fit decreasing usually saves requests.
    """
    if not items:
        return []
    in_order = _next_fit(items, max_bytes, max_entries)
    if len(in_order) <= lower_bound([size for _, size in items], max_bytes, max_entries):
        return in_order
    decreasing = _first_fit(sorted(items, key=lambda item: item[1], reverse=True), max_bytes, max_entries)
    return decreasing if len(decreasing) < len(in_order) else in_order


def lower_bound(sizes: Sequence[int], max_bytes: int, max_entries: int) -> int:
    """No packing can use fewer requests than this."""
    by_count = -(-len(sizes) // max_entries)
    by_bytes = -(-sum(sizes) // (max_bytes - 1))
    return max(by_count, by_bytes)


def _next_fit(items: Sequence[tuple[int, int]], max_bytes: int, max_entries: int) -> list[list[int]]:
    requests: list[list[int]] = []
    keys: list[int] = []
    total = 0
    for key, size in items:
        if keys and (len(keys) == max_entries or total + size >= max_bytes):
            requests.append(keys)
            keys, total = [], 0
        keys.append(key)
        total += size
    requests.append(keys)
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
