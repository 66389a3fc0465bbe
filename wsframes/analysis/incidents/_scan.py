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
    units: pl.DataFrame,
    *,
    first: object,
    step: timedelta,
    buckets: int,
    min_events: int,
    effect: tuple[float, float],
    rest_of_period: bool,
) -> tuple[pl.LazyFrame, int]:
    """Windows that show the minimum effect, ``sid, scale, i0, i1, n, k`` (lazy), and how many were tested.

    Every window with at least :data:`MIN_CELL_REQUESTS` requests is a hypothesis and is counted;
    only those showing the minimum *effect* (a rise of at least ``delta`` and ``ratio`` times the
    usual rate, and *min_events* events above expected) are kept: the others would get p-values
    near 1 and only enter Benjamini-Hochberg through the count. Deciding that here, on arrays,
    keeps memory and time small: most windows of most segments are unremarkable.
    *units* carry each cell's reference ``K0``/``N0``: the rest of the period when
    *rest_of_period* (so the window's own counts are taken out again), else a baseline's.

    *units* are the one-bucket cells with an integer segment id ``sid``. Sorted by segment and
    bucket, the cells of one window are contiguous at every scale and offset, so each scale is
    one vectorised ``reduceat`` over the arrays (no hashing, no per-scale group-by).
    """
    us = step // timedelta(microseconds=1)
    if rest_of_period:  # the reference totals are the segment's own: no window function needed
        total_n, total_k = pl.col("N0") + pl.col("n"), pl.col("K0") + pl.col("k")
    else:
        total_n, total_k = pl.col("n").sum().over("sid"), pl.col("k").sum().over("sid")
    j = (pl.col("t") - pl.lit(first)).dt.total_microseconds() // us
    kept = (
        units.lazy()
        # Tarone's pruning: a segment with too few requests or events in the whole period cannot
        # reach the minimum effect in any window, so it is no hypothesis at all.
        .filter((total_n >= MIN_SEGMENT_REQUESTS) & (total_k >= min_events))
        .select(
            "sid",
            "n",
            "k",
            # The segment's reference totals, the same on every cell of the segment.
            K=pl.col("K0") + pl.col("k") if rest_of_period else pl.col("K0"),
            N=pl.col("N0") + pl.col("n") if rest_of_period else pl.col("N0"),
            j=j,
        )
        # One integer key sorts faster than two columns.
        .sort(pl.col("sid") * (buckets + 1) + pl.col("j"))
        .collect()
    )
    sid, j = kept["sid"].to_numpy(), kept["j"].to_numpy()
    n, k = kept["n"].to_numpy(), kept["k"].to_numpy()
    ref = (kept["K"].to_numpy().astype(float), kept["N"].to_numpy().astype(float), rest_of_period)
    parts, tested = [], 0
    for scale in SCALES:
        if scale > max(1, buckets // 2):
            break
        for offset in (0, scale // 2) if scale > 1 else (0,):
            part, count = _reduce(sid, j, n, k, scale, offset, buckets, (min_events, *effect), ref)
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
    effect: tuple[int, float, float],
    ref: tuple[np.ndarray, np.ndarray, bool],
) -> tuple[pl.DataFrame, int]:
    """Window sums at one scale and offset over cells sorted by segment and bucket."""
    w = (j + offset) // scale
    starts = np.flatnonzero(np.r_[True, (np.diff(sid) != 0) | (np.diff(w) != 0)])
    ns, ks = np.add.reduceat(n, starts), np.add.reduceat(k, starts)
    k0, n0 = ref[0][starts], ref[1][starts]
    if ref[2]:
        k0, n0 = k0 - ks, n0 - ns
    testable = ns >= MIN_CELL_REQUESTS
    min_events, delta, ratio = effect
    with np.errstate(divide="ignore", invalid="ignore"):
        usual = np.where(n0 > 0, k0 / n0, np.inf)
        rate = ks / np.maximum(ns, 1)
        shows = (rate >= usual + delta) & (rate >= usual * ratio) & (ks - ns * usual >= min_events)
    keep = testable & (ks >= min_events) & shows
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
