"""Splitting a window into disjoint time slices of given record counts.

Bounds are integer microseconds, inclusive (the API's form), so slices ``[a, b]`` and ``[b + 1, c]``
share no instant: every record, and every tie group of equal timestamps, falls in exactly one
slice. Weights come from the hourly ``/api/v2/stats/`` totals (one request for any window),
spread evenly inside each hour; without weights the records are taken as even in time.

>>> plan_slices(0, 99, [1, 1])
[(0, 49), (50, 99)]
>>> plan_slices(0, 99, [1, 1], [(0, 0, 10), (50, 99, 30)])  # the later half holds 3/4 of the records
[(0, 65), (66, 99)]
>>> plan_slices(0, 99, [3, 1])  # the older slice holds 3/4 of them
[(0, 74), (75, 99)]
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["plan_slices"]

Weight = tuple[int, int, float]  # (first µs, last µs, records) of one stats hour, inclusive


def plan_slices(lo: int, hi: int, sizes: Sequence[float], weights: Sequence[Weight] = ()
                ) -> list[tuple[int, int]]:
    """Disjoint inclusive slices covering ``[lo, hi]``, ascending, each non-empty, holding about
    *sizes* records each (oldest first; only their proportions matter). Fewer when ``[lo, hi]``
    has fewer instants than *sizes*."""
    clipped = [(max(a, lo), min(b, hi), w * _overlap(a, b, lo, hi)) for a, b, w in weights]
    clipped = [(a, b, w) for a, b, w in clipped if a <= b and w > 0]
    total = sum(w for _, _, w in clipped)
    if total <= 0:
        clipped, total = [(lo, hi, 1.0)], 1.0
    cuts = []  # first µs of slices 2..n
    acc = 0.0
    pieces = iter(sorted(clipped))
    a, b, w = next(pieces)
    share = total / sum(sizes)
    for k in range(1, len(sizes)):
        target = share * sum(sizes[:k])
        while acc + w < target:
            acc += w
            a, b, w = next(pieces)
        cut = a + int((target - acc) / w * (b - a + 1))  # uniform inside the hour
        cuts.append(min(max(cut, lo + 1), hi))
    bounds = sorted(set(cuts))
    starts = [lo, *bounds]
    ends = [c - 1 for c in bounds] + [hi]
    return [(s, e) for s, e in zip(starts, ends, strict=True) if s <= e]


def _overlap(a: int, b: int, lo: int, hi: int) -> float:
    """The share of ``[a, b]`` that lies in ``[lo, hi]`` (records of a partly covered hour)."""
    inside = min(b, hi) - max(a, lo) + 1
    return max(0.0, inside / (b - a + 1))
