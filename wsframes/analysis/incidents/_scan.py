"""Multi-scale scan: windows of 1, 2, 4, ... buckets, so a long mild change is seen like a sharp one.

A slow proxy that carries seven requests an hour is invisible hour by hour but obvious over a day.
Every segment is therefore tested over dyadic windows (half-overlapping), all in one
Benjamini-Hochberg family; the window that fires only locates the change roughly, and its edges
are then refined to the stretch of buckets with the largest log-likelihood ratio of "rate raised"
against "rate usual" (the maximum-sum segment, i.e. the CUSUM estimate of a change's start and end).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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
            # Seasonal expectation and its reference requests (:mod:`._season`), 0 when flat.
            e=pl.col("e") if "e" in units.columns else pl.lit(0.0),
            m=pl.col("m") if "m" in units.columns else pl.lit(0.0),
            ng=pl.col("ng") if "ng" in units.columns else pl.col("n"),
        )
        .with_columns(pl.col("K", "N", "e", "m", "ng").cast(pl.Float64))
        .collect()
    )
    # The cells come sorted by segment and time (:mod:`._cells`), so the key usually is too; else
    # the arrays are sorted one by one, each taken out of the frame as it is (sorting the frame
    # would hold it twice). One integer key sorts faster than two columns.
    key = (kept["sid"] * (buckets + 1) + kept["j"]).to_numpy()
    order = None if bool(np.all(key[1:] >= key[:-1])) else np.argsort(key)
    names = ("sid", "j", "n", "k", "K", "N", "e", "m", "ng")
    level = _Level(*(_in_order(kept.drop_in_place(c).to_numpy(), order) for c in names))
    del kept, key, order
    test = _Test(min_events, *effect, rest_of_period, buckets)
    parts, tested = [], 0
    for scale in SCALES:
        if scale > max(1, buckets // 2) or not len(level.sid):
            break
        if scale == 1:
            found = [(level, 0)]
        else:
            # Windows of twice the previous scale are sums of two neighbouring windows of it:
            # each scale costs half the one before instead of a pass over every cell.
            found = [(level.coarser(shift), scale // 2 * shift) for shift in (0, 1)]
        for windows_at, offset in found:
            part, count = test.run(windows_at, scale, offset)
            parts.append(part)
            tested += count
        level = found[0][0]
    # Edge windows clipped to the same span as a smaller one are tested twice: that only makes
    # the Benjamini-Hochberg family a little larger (conservative), and is cheaper than unique().
    if not parts:
        empty = {"sid": pl.Int64, "n": pl.Int64, "k": pl.Int64, "scale": pl.Int32}
        refs = {"K0": pl.Float64, "N0": pl.Float64}
        return pl.LazyFrame(schema={**empty, "i0": pl.Int64, "i1": pl.Int64, **refs}), 0
    return pl.concat(parts).lazy(), tested


def _in_order(values: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    return values if order is None else values[order]


@dataclass(frozen=True)
class _Level:
    """Windows of one scale at offset 0, sorted by segment and window index ``w``."""

    sid: np.ndarray
    w: np.ndarray
    n: np.ndarray
    k: np.ndarray
    big_k: np.ndarray  # the segment's reference events and trials, repeated per window
    big_n: np.ndarray
    e: np.ndarray  # seasonal expected events and their reference requests (0 when flat)
    m: np.ndarray
    ng: np.ndarray  # requests weighted by the account's time-of-day factor (flat segments)

    def coarser(self, shift: int) -> _Level:
        """Windows twice as long; *shift* 1 moves them half a window earlier (the offset ones)."""
        w = (self.w + shift) // 2
        starts = np.flatnonzero(np.r_[True, (np.diff(self.sid) != 0) | (np.diff(w) != 0)])
        return _Level(
            self.sid[starts],
            w[starts],
            np.add.reduceat(self.n, starts),
            np.add.reduceat(self.k, starts),
            self.big_k[starts],
            self.big_n[starts],
            np.add.reduceat(self.e, starts),
            np.add.reduceat(self.m, starts),
            np.add.reduceat(self.ng, starts),
        )


@dataclass(frozen=True)
class _Test:
    """Which windows are hypotheses (enough requests) and which show the minimum effect."""

    min_events: int
    delta: float
    ratio: float
    rest_of_period: bool
    buckets: int

    def run(self, lv: _Level, scale: int, offset: int) -> tuple[pl.DataFrame, int]:
        testable = lv.n >= MIN_CELL_REQUESTS
        # Most windows hold too few events for any effect: the rates are computed for the others
        # only (one gather), not as a dozen temporaries the length of every window.
        at = np.flatnonzero(testable & (lv.k >= self.min_events))
        n, k, m = lv.n[at], lv.k[at], lv.m[at]
        k0, n0 = lv.big_k[at], lv.big_n[at]
        if self.rest_of_period:
            k0, n0 = k0 - k, n0 - n
        with np.errstate(divide="ignore", invalid="ignore"):
            # A seasonal window's usual rate is its cells' expectation at their time of day; its
            # reference is the other days' requests in the same slots (no more than the flat one).
            # A flat segment's usual rate is raised by the account's factor in those slots.
            seasonal = m > 0
            k0 = np.where(seasonal, 0.0, k0 * lv.ng[at] / np.maximum(n, 1))
            n0 = np.where(seasonal, np.minimum(m, n0), n0)
            k0 = np.where(seasonal, n0 * lv.e[at] / np.maximum(n, 1), k0)
            usual = np.where(n0 > 0, k0 / n0, np.inf)
            rate = k / np.maximum(n, 1)
            shows = (
                (rate >= usual + self.delta)
                & (rate >= usual * self.ratio)
                & (k - n * usual >= self.min_events)
            )
        keep = at[shows]
        i0 = lv.w[keep] * scale - offset
        frame = pl.DataFrame(
            {
                "sid": lv.sid[keep],
                "n": lv.n[keep],
                "k": lv.k[keep],
                "scale": np.full(len(keep), scale, dtype=np.int32),
                "i0": np.clip(i0, 0, None),
                "i1": np.clip(i0 + scale, None, self.buckets),
                "K0": k0[shows].astype(float),
                "N0": n0[shows].astype(float),
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
    """Union of overlapping or touching seed windows per segment: ``dimension, value, start, end, p, q``."""
    # A run's reference is its first window's: the shortest of those starting first (windows of
    # one span share it), so that ties of the sort cannot make the result vary from run to run.
    ordered = seeds.sort([*_SEG, "t", "scale", "end"])
    reach = pl.col("end").cum_max().shift(1).over(_SEG)
    grouped = ordered.with_columns(run=(pl.col("t") > reach).fill_null(True).cum_sum().over(_SEG))
    return (
        grouped.group_by([*_SEG, "run"])
        .agg(
            pl.col("t").min().alias("start"),
            pl.col("end").max(),
            pl.col("p", "q").min(),
            pl.col("K0", "N0").first(),
        )
        .drop("run")
    )


#: Rounds of :func:`runs` looking for a second change among the seeds the first one left.
_ROUNDS = 3


def runs(seeds: pl.DataFrame, cells: pl.DataFrame, step: timedelta) -> pl.DataFrame:
    """Merged seed windows (:func:`merge`) with refined edges (:func:`refine`), every change found.

    A long window covering two bursts of a segment days apart merges them into one run, and its
    refined stretch keeps only the stronger: the seeds that lie wholly outside the refined stretch
    (more than a bucket away) are a change of their own, and merged and refined again.
    """
    out = []
    for _ in range(_ROUNDS):
        if seeds.is_empty():
            break
        merged = merge(seeds)
        edges = [refine(r, cells, step) for r in merged.iter_rows(named=True)]
        merged = merged.with_columns(
            start=pl.Series([e[0] for e in edges], dtype=merged["start"].dtype),
            end=pl.Series([e[1] for e in edges], dtype=merged["end"].dtype),
        )
        out.append(merged)
        near = merged.select(*_SEG, lo=pl.col("start") - step, hi=pl.col("end") + step)
        explained = (pl.col("t") < pl.col("hi")) & (pl.col("end") > pl.col("lo"))
        seeds = seeds.join(near.join(seeds, on=_SEG).filter(explained).select(*_SEG, "t", "end"),
                           on=[*_SEG, "t", "end"], how="anti")  # fmt: skip
    return pl.concat(out)


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
    p0: Any = min(max(run["K0"] / max(run["N0"], 1), 1e-6), 1 - 1e-6)
    k, n = near["k"].to_numpy().astype(float), near["n"].to_numpy().astype(float)
    if "p0" in near.columns:  # each bucket against its own time of day's usual rate
        # pooled with one event's worth of the flat rate: a quiet slot whose other days had no
        # failure is not a rate of 0, against which one failure would be a change.
        m = near["m"].to_numpy().astype(float) if "m" in near.columns else np.zeros(len(near))
        slot = near["p0"].fill_nan(None).fill_null(p0).to_numpy().astype(float)
        prior = 1 / p0
        p0 = np.clip((slot * m + p0 * prior) / (m + prior), 1e-6, 1 - 1e-6)
    times = near["t"]
    lo, hi = int(np.searchsorted(times.to_numpy(), np.datetime64(start.replace(tzinfo=None)))), len(k) - 1
    hi = max(lo, int(np.searchsorted(times.to_numpy(), np.datetime64(end.replace(tzinfo=None)))) - 1)
    # The rate inside depends on the edges and the edges on the rate. Settling both by turns from
    # the run's own rate stops at a diluted rate that bridges two bursts days apart; a grid of
    # raised rates up to the highest bucket's finds the likeliest stretch and rate together.
    raised = k[lo : hi + 1].sum() / max(n[lo : hi + 1].sum(), 1)
    top = float(np.max(k / np.maximum(n, 1)))
    grid = np.geomspace(max(raised, 1e-6), max(top, raised, 1e-6), 24)  # from the run's own rate
    best = -math.inf
    for rate in grid:
        for _ in range(2):  # then the stretch's own rate
            p1 = np.clip(np.maximum(rate, p0 * 1.01), 1e-6, 1 - 1e-6)
            llr = k * np.log(p1 / p0) + (n - k) * np.log((1 - p1) / (1 - p0))
            a, b = _max_subarray(llr)
            if (total := llr[a : b + 1].sum()) > best:
                best, lo, hi = total, a, b
            rate = k[a : b + 1].sum() / max(n[a : b + 1].sum(), 1)
    return times[lo], times[hi] + step


def _max_subarray(x: np.ndarray) -> tuple[int, int]:
    """Indices ``(first, last)`` of the maximum-sum contiguous stretch (by prefix sums)."""
    sums = np.concatenate([[0.0], np.cumsum(x)])
    low = np.minimum.accumulate(sums[:-1])
    last = int(np.argmax(sums[1:] - low))
    first = int(np.argmin(sums[: last + 1]))
    return first, last
