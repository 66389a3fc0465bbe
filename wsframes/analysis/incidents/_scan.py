"""Multi-scale scan: windows of 1, 2, 4, ... buckets, so a long mild change is seen like a sharp one.

A slow proxy that carries seven requests an hour is invisible hour by hour but obvious over a day.
Every segment is therefore tested over dyadic windows (half-overlapping), all in one
Benjamini-Hochberg family; the window that fires only locates the change roughly, and its edges
are then refined to the stretch of buckets with the largest log-likelihood ratio of "rate raised"
against "rate usual" (the maximum-sum segment, i.e. the CUSUM estimate of a change's start and end).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from wsframes.analysis.incidents._stats import MIN_CELL_REQUESTS

#: Window lengths, in buckets.
SCALES = (1, 2, 4, 8, 16, 32, 64)
#: A segment with fewer (burst-weighted) requests in the whole period is never tested.
MIN_SEGMENT_REQUESTS = 20
_SEG = ["dimension", "value"]


def windows(
    units: pl.DataFrame, *, first: object, step: timedelta, buckets: int, min_events: int
) -> tuple[pl.LazyFrame, int]:
    """Windows that could show an effect, ``sid, scale, i0, i1, n, k`` (lazy), and how many were tested.

    Every window with at least :data:`MIN_CELL_REQUESTS` requests is a hypothesis and is counted;
    only those with at least *min_events* events (the minimum excess needs them) are kept, which
    keeps memory small: most windows of most segments hold a handful of events.

    *units* are the one-bucket cells with an integer segment id ``sid``. Sorted by segment and
    bucket, the cells of one window are contiguous at every scale and offset, so each scale is
    one vectorised ``reduceat`` over the arrays (no hashing, no per-scale group-by).
    """
    kept = (
        units.lazy()
        # Tarone's pruning: a segment with too few requests or events in the whole period cannot
        # reach the minimum effect in any window, so it is no hypothesis at all.
        .filter(
            (pl.col("n").sum().over("sid") >= MIN_SEGMENT_REQUESTS)
            & (pl.col("k").sum().over("sid") >= min_events)
        )
        .select(
            "sid",
            "n",
            "k",
            j=(pl.col("t") - pl.lit(first)).dt.total_microseconds() // (step // timedelta(microseconds=1)),
        )
        .sort("sid", "j")
        .collect()
    )
    sid, j = kept["sid"].to_numpy(), kept["j"].to_numpy()
    n, k = kept["n"].to_numpy(), kept["k"].to_numpy()
    parts, tested = [], 0
    for scale in SCALES:
        if scale > max(1, buckets // 2):
            break
        for offset in (0, scale // 2) if scale > 1 else (0,):
            part, count = _reduce(sid, j, n, k, scale, offset, buckets, min_events)
            parts.append(part)
            tested += count
    # Edge windows clipped to the same span as a smaller one are tested twice: that only makes
    # the Benjamini-Hochberg family a little larger (conservative), and is cheaper than unique().
    if not parts or not len(sid):
        empty = {"sid": pl.Int64, "n": pl.Int64, "k": pl.Int64, "scale": pl.Int32}
        return pl.LazyFrame(schema={**empty, "i0": pl.Int64, "i1": pl.Int64}), 0
    return pl.concat(parts).lazy(), tested


def _reduce(
    sid: np.ndarray,
    j: np.ndarray,
    n: np.ndarray,
    k: np.ndarray,
    scale: int,
    offset: int,
    buckets: int,
    min_events: int,
) -> tuple[pl.DataFrame, int]:
    """Window sums at one scale and offset over cells sorted by segment and bucket."""
    w = (j + offset) // scale
    starts = np.flatnonzero(np.r_[True, (np.diff(sid) != 0) | (np.diff(w) != 0)])
    ns, ks = np.add.reduceat(n, starts), np.add.reduceat(k, starts)
    testable = ns >= MIN_CELL_REQUESTS
    keep = testable & (ks >= min_events)
    i0 = w[starts][keep] * scale - offset
    frame = pl.DataFrame(
        {
            "sid": sid[starts][keep],
            "n": ns[keep],
            "k": ks[keep],
            "scale": np.full(int(keep.sum()), scale, dtype=np.int32),
            "i0": np.clip(i0, 0, None),
            "i1": np.clip(i0 + scale, None, buckets),
        }
    )
    return frame, int(testable.sum())


def window_times(found: pl.DataFrame, *, first: object, step: timedelta) -> pl.DataFrame:
    """Bucket indices ``i0``/``i1`` of the windows as times ``t``/``end``."""
    us = step // timedelta(microseconds=1)
    return found.with_columns(
        t=pl.lit(first) + pl.duration(microseconds=pl.col("i0") * us),
        end=pl.lit(first) + pl.duration(microseconds=pl.col("i1") * us),
    ).drop("i0", "i1")


def merge(seeds: pl.DataFrame) -> pl.DataFrame:
    """Union of overlapping or touching seed windows per segment: ``dimension, value, start, end, q``."""
    ordered = seeds.sort([*_SEG, "t"])
    reach = pl.col("end").cum_max().shift(1).over(_SEG)
    grouped = ordered.with_columns(run=(pl.col("t") > reach).fill_null(True).cum_sum().over(_SEG))
    return (
        grouped.group_by([*_SEG, "run"])
        .agg(
            pl.col("t").min().alias("start"),
            pl.col("end").max(),
            pl.col("q").min(),
            pl.col("K0", "N0").first(),
        )
        .drop("run")
    )


def refine(run: dict[str, Any], cells: pl.DataFrame, step: timedelta) -> tuple[Any, Any]:
    """The start and end of the maximum log-likelihood-ratio stretch around a merged run."""
    start, end = run["start"], run["end"]
    margin = (end - start) // 2 + step
    near = cells.filter(
        (pl.col("dimension") == run["dimension"])
        & (pl.col("value") == run["value"])
        & pl.col("t").is_between(start - margin, end + margin, closed="left")
    ).sort("t")
    if near.is_empty():
        return start, end
    p0 = min(max(run["K0"] / max(run["N0"], 1), 1e-6), 1 - 1e-6)
    k, n = near["k"].to_numpy().astype(float), near["n"].to_numpy().astype(float)
    times = near["t"]
    lo, hi = int(np.searchsorted(times.to_numpy(), np.datetime64(start.replace(tzinfo=None)))), len(k) - 1
    hi = max(lo, int(np.searchsorted(times.to_numpy(), np.datetime64(end.replace(tzinfo=None)))) - 1)
    # The rate inside depends on the edges and the edges on the rate: a few rounds settle both.
    for _ in range(4):
        p1 = min(max(k[lo : hi + 1].sum() / max(n[lo : hi + 1].sum(), 1), p0 * 1.01), 1 - 1e-6)
        llr = k * math.log(p1 / p0) + (n - k) * math.log((1 - p1) / (1 - p0))
        lo, hi = _max_subarray(llr)
    return times[lo], times[hi] + step


def _max_subarray(x: np.ndarray) -> tuple[int, int]:
    """Indices ``(first, last)`` of the maximum-sum contiguous stretch (Kadane)."""
    best, best_lo, best_hi, run, lo = -math.inf, 0, 0, 0.0, 0
    for i, v in enumerate(x):
        if run <= 0:
            run, lo = v, i
        else:
            run += v
        if run > best:
            best, best_lo, best_hi = run, lo, i
    return best_lo, best_hi
