"""Exact quantiles, fast: NumPy's ``method="linear"`` computed by bucket-and-select.

Polars and pandas both pay a selection or sort over the whole column per metric. For a
column of n values the kernel here instead

1. maps each float to a monotone 64-bit key and keeps its top 20 bits (sign, exponent and 8
   mantissa bits: buckets 1/256 of an octave wide), counting values per bucket with ``bincount``;
2. finds from the cumulative counts which bucket holds each needed order statistic;
3. sorts only the values in those few buckets and reads the order statistics by offset.

That is a few vectorised passes and one small sort, so it is exact (the same order statistics a
full sort gives) at a fraction of the cost. When the needed buckets hold a large share of the
data (heavy ties, tiny inputs) it falls back to :func:`numpy.quantile`, the definition itself.
The interpolation then reproduces NumPy's ``_lerp`` operation for operation, so results are
bit-identical to ``numpy.quantile(values, qs)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
from polars._typing import QuantileMethod

from wsframes.analysis._frames import quantile_name

_SHIFT = 44  # keep 64 - 44 = 20 key bits: at most 2**20 buckets, 1/256-octave resolution
_SMALL = 65_536  # below this, numpy.quantile is as fast as anything
_SIGN_FLIP = np.int64(0x7FFF_FFFF_FFFF_FFFF)
_ROW = "__wsframes_row"
#: For ``collect_all`` of queries over one filtered scan: with common-subplan elimination Polars
#: caches the shared scan, holding every row of its columns (2.4 GB for three durations at 100M);
#: each query streaming its own scan holds only its result.
SEPARATE_SCANS = pl.QueryOptFlags(comm_subplan_elim=False)
#: Above this many groups a Python-level loop over groups costs more than it saves.
MAX_LOOP_GROUPS = 100_000


def exact_quantiles(values: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """Quantiles of *values* (finite floats, no NaN), equal to ``numpy.quantile(values, quantiles)``.

    >>> exact_quantiles(np.array([3.0, 1.0, 2.0, 10.0]), [0.5, 1.0]).tolist()
    [2.5, 10.0]
    """
    qs = np.asarray(quantiles, dtype=np.float64)
    a = np.ascontiguousarray(values, dtype=np.float64)
    n = a.size
    if n == 0:
        return np.full(qs.shape, np.nan)
    if n < _SMALL:
        return np.asarray(np.quantile(a, qs), dtype=np.float64)
    keys = a.view(np.int64)
    # IEEE-754 bits order non-negative floats as integers, so the top bits are a monotone bucket
    # number usable by bincount as is. Negative values (never durations) need the non-sign bits
    # flipped to keep the order, and a shift to make bucket numbers non-negative.
    bucket = keys >> _SHIFT
    if bucket.min() < 0:
        bucket = (keys ^ ((keys >> 63) & _SIGN_FLIP)) >> _SHIFT
        bucket -= bucket.min()
    counts = np.bincount(bucket)
    ends = np.cumsum(counts)
    virtual = (n - 1) * qs
    lower = np.floor(virtual).astype(np.int64)
    upper = np.minimum(lower + 1, n - 1)
    ranks = np.concatenate([lower, upper])
    where = np.searchsorted(ends, ranks, side="right")
    needed = np.zeros(counts.size, dtype=bool)
    needed[where] = True
    kept = np.where(needed, counts, 0)
    if kept.sum() > n // 8:
        return np.asarray(np.quantile(a, qs), dtype=np.float64)
    chosen = np.sort(a[needed[bucket]])
    offsets = (np.cumsum(kept) - kept)[where] + ranks - (ends[where] - counts[where])
    picked = chosen[offsets]
    return _lerp(picked[: qs.size], picked[qs.size :], virtual - lower)


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """NumPy's quantile interpolation, step for step (so results match it bit for bit)."""
    diff = b - a
    out = a + diff * t
    result: np.ndarray = np.where(t >= 0.5, b - diff * (1 - t), out)
    return result


def quantiles_array(expr: pl.Expr, quantiles: Sequence[float]) -> pl.Expr:
    """One ``Array[f64, k]`` value holding the exact quantiles of *expr* (nulls and NaN ignored).

    Meant for whole-frame (ungrouped) aggregation, where it beats ``Expr.quantile``; in a
    ``group_by`` context use Polars' own per-group quantile instead.
    """
    qs = tuple(quantiles)

    def kernel(series: pl.Series) -> pl.Series:
        out = exact_quantiles(series.to_numpy(), qs)
        return pl.Series([out], dtype=pl.Array(pl.Float64, len(qs)))

    clean = expr.cast(pl.Float64).fill_nan(None).drop_nulls()
    return clean.map_batches(kernel, returns_scalar=True, return_dtype=pl.Array(pl.Float64, len(qs)))


def grouped_summary(values: np.ndarray, sizes: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """Count, mean, max and quantiles per group of *values* laid out contiguously by group.

    NaN marks a missing value. Returns a ``(len(sizes), 3 + len(quantiles))`` array: count,
    mean, max, then one column per quantile (NaN for a group without values). Each group is
    sorted once and every order statistic read off it, where a per-quantile aggregation would
    gather and select the group again for every quantile. Quantiles match ``numpy.quantile``
    per group bit for bit. *values* is overwritten (groups sorted in place, NaN set to 0).

    >>> grouped_summary(np.array([1.0, 3.0, 2.0, np.nan, 5.0]), np.array([3, 2]), [0.5]).tolist()
    [[3.0, 2.0, 3.0, 2.0], [1.0, 5.0, 5.0, 5.0]]
    """
    qs = np.asarray(quantiles, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    # Missing values are not packed out (that copy cost as much memory as the column): sorting
    # puts NaN last, so a sorted group's values are its first `count` entries.
    present = ~np.isnan(values)
    counts = np.zeros(sizes.size, dtype=np.int64)
    filled = sizes > 0
    if filled.any():
        counts[filled] = np.add.reduceat(present, starts[filled], dtype=np.int64)
    del present  # stale once groups are sorted
    out = np.full((sizes.size, 3 + qs.size), np.nan)
    out[:, 0] = counts
    # Big groups (the head of a Zipf-distributed key holds most rows) get the bucket-and-select
    # kernel, linear in the group's size; sorting them was most of the grouped cost.
    big = counts >= _SMALL
    for g in np.flatnonzero(big):  # unsorted: read max and quantiles directly
        group = values[starts[g] : starts[g] + sizes[g]]
        group = group if counts[g] == sizes[g] else group[~np.isnan(group)]
        out[g, 2] = group.max()
        out[g, 3:] = exact_quantiles(group, quantiles)
    for g in np.flatnonzero((sizes > 1) & ~big):
        # A full in-place sort beats a multi-rank partition here: NumPy's SIMD sort is ~3x faster
        # than introselect over ten ranks on the same slice (measured, 10M rows, 5,000 groups).
        values[starts[g] : starts[g] + sizes[g]].sort()
    has = counts > 0
    if has.any():
        values[np.isnan(values)] = 0.0  # adds nothing to a sum; past every sorted group's values
        first, n = starts[has], counts[has]
        out[has, 1] = np.add.reduceat(values, first) / n
        small = ~big[has]
        first, n = first[small], n[small]
        rows = np.flatnonzero(has)[small]
        out[rows, 2] = values[first + n - 1]
        virtual = (n[:, None] - 1) * qs[None, :]
        lower = np.floor(virtual).astype(np.int64)
        upper = np.minimum(lower + 1, n[:, None] - 1)
        a, b = values[first[:, None] + lower], values[first[:, None] + upper]
        out[rows, 3:] = _lerp(a, b, virtual - lower)
    return out


def _stat_names(i: int, qs: Sequence[float]) -> list[str]:
    return [f"{i}:count", f"{i}:mean", f"{i}:max", *(f"{i}:{quantile_name(q)}" for q in qs)]


def grouped_exact(
    lf: pl.LazyFrame, keys: Sequence[pl.Expr], metrics: Sequence[str], qs: Sequence[float]
) -> pl.LazyFrame:
    """Per group of *keys*: ``"{i}:count"``, ``"{i}:mean"``, ``"{i}:max"``, ``"{i}:p50"``...

    NaN counts as missing. Polars groups the rows once, listing each group's row numbers; each
    metric's values, gathered into that order (contiguous by group), are summarised by
    :func:`grouped_summary`. The result stays lazy: the work runs inside ``map_batches`` when
    the caller collects. Above :data:`MAX_LOOP_GROUPS` groups, Polars' own per-group
    aggregations take over.
    """
    # NaN marks a missing value from here on: the kernel reads the columns as NumPy without a
    # null-filled copy, and a streamed scan fills the nulls batch by batch.
    base = lf.select(*keys, *(pl.col(m).cast(pl.Float64).fill_null(np.nan) for m in metrics))
    names = [n for n in base.collect_schema().names() if n not in metrics]
    schema = dict(base.select(names).collect_schema())
    for i in range(len(metrics)):
        schema |= {n: pl.Float64() for n in _stat_names(i, qs)} | {f"{i}:count": pl.UInt32()}

    def native(frame: pl.DataFrame) -> pl.DataFrame:
        def exprs(m: str) -> list[pl.Expr]:
            v = pl.col(m)
            return [v.count().cast(pl.UInt32), v.mean(), v.max(), *(v.quantile(q, "linear") for q in qs)]

        aggs = [
            e.alias(n)
            for i, m in enumerate(metrics)
            for e, n in zip(exprs(m), _stat_names(i, qs), strict=True)
        ]
        return frame.with_columns(pl.col(metrics).fill_nan(None)).group_by(names).agg(aggs)

    def compute(frame: pl.DataFrame) -> pl.DataFrame:
        # Polars groups once and hands back each group's row numbers (4 bytes a row, for every
        # metric at once); each metric is then gathered into group order on its own, so at most
        # one private copy per worker thread exists besides the frame.
        grouped = frame.with_row_index(_ROW).group_by(names).agg(pl.col(_ROW))
        if grouped.height > MAX_LOOP_GROUPS:
            return native(frame).cast(schema).select(list(schema))  # type: ignore[arg-type]
        sizes = grouped[_ROW].list.len().to_numpy()
        order = grouped[_ROW].explode().to_numpy()
        grouped = grouped.drop(_ROW)

        def summarise(metric: str) -> np.ndarray:
            # np.take makes a private, writable copy, ~3x faster than fancy indexing (10M rows).
            values = np.take(frame[metric].to_numpy(), order)
            return grouped_summary(values, sizes, qs)

        # NumPy releases the GIL in its gathers and sorts, so metrics overlap on threads.
        with ThreadPoolExecutor(max_workers=min(len(metrics), os.cpu_count() or 1)) as pool:
            results = list(pool.map(summarise, metrics))
        columns = [
            pl.Series(name, result[:, j], dtype=pl.Float64).fill_nan(None)
            for i, result in enumerate(results)
            for j, name in enumerate(_stat_names(i, qs))
        ]
        return grouped.with_columns(columns).cast(schema).select(list(schema))  # type: ignore[arg-type]

    # Text keys (domains, hosts) travel as categorical codes: 4 bytes a row instead of the string,
    # which halves the peak memory of a streamed archive scan and makes the grouping cheaper.
    # The result casts them back to text.
    text = [n for n in names if schema[n] == pl.String]
    compact = base.with_columns(pl.col(text).cast(pl.Categorical)) if text else base
    return compact.map_batches(compute, schema=schema)


def scan_quantiles(
    lf: pl.LazyFrame, wanted: Mapping[str, Sequence[float]], *, interpolation: QuantileMethod = "linear"
) -> dict[str, list[float | None]]:
    """Exact quantiles of columns of a scan (nulls and NaN ignored), with memory bounded by buckets.

    ``Expr.quantile`` holds a whole column; over 100M rows that is gigabytes. Two streaming
    passes instead: the first counts values per bucket (1/256 of an octave, as in
    :func:`exact_quantiles`) with each bucket's min and max, the second reads only the values
    of the few buckets holding the order statistics. *interpolation* is Polars' ``"linear"`` or
    ``"nearest"``: the same order statistics and arithmetic as ``Expr.quantile``, so the same
    numbers to the bit.
    """
    values = {c: pl.col(c).cast(pl.Float64).fill_nan(None).alias("x") for c in wanted}
    x = pl.col("x")
    # A monotone bucket number: sign, then the octave and 8 bits below it.
    magnitude = (x.abs().log(2) * 256).floor().cast(pl.Int64) + 300_000
    # Null stays null: its group counts the nulls, which Polars' position counts too.
    bucket = pl.when(x > 0).then(magnitude).when(x < 0).then(-magnitude).when(x == 0).then(0).alias("bucket")
    hist = pl.collect_all(
        [
            lf.select(v).group_by(bucket).agg(pl.len(), x.min().alias("lo"), x.max().alias("hi"))
            for v in values.values()
        ],
        engine="streaming",
        optimizations=SEPARATE_SCANS,
    )
    plans: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
    reads: list[pl.LazyFrame] = []
    for (column, qs), counts in zip(wanted.items(), hist, strict=True):
        nulls = int(counts.filter(pl.col("bucket").is_null())["len"].sum())
        counts = counts.drop_nulls("bucket").sort("bucket")
        n, lo, hi = (
            counts["len"].to_numpy().astype(np.int64),
            counts["lo"].to_numpy(),
            counts["hi"].to_numpy(),
        )
        if not n.sum() or bool(np.any(hi[:-1] >= lo[1:])):  # empty, or buckets not disjoint
            plans[column] = None
            continue
        pos = (n.sum() - 1) * np.asarray(qs, dtype=np.float64)
        if interpolation == "nearest":
            ranks = np.floor(pos + 0.5).astype(np.int64)  # Polars rounds half away from zero
        else:  # Polars sorts the nulls first and interpolates at that position (the last bits count)
            pos = pos + nulls
            ranks = np.floor(pos).astype(np.int64) - nulls
        ranks = np.concatenate([ranks, np.minimum(ranks + 1, n.sum() - 1)])
        ends = np.cumsum(n)
        where = np.searchsorted(ends, ranks, side="right")
        needed = np.unique(where)
        kept_before = np.cumsum(n[needed]) - n[needed]  # values of needed buckets below each one
        offsets = kept_before[np.searchsorted(needed, where)] + ranks - (ends[where] - n[where])
        plans[column] = (pos, offsets)
        inside = pl.any_horizontal([x.is_between(float(lo[b]), float(hi[b])) for b in needed])
        reads.append(lf.select(values[column]).filter(inside).sort("x"))
    picked = iter(pl.collect_all(reads, engine="streaming", optimizations=SEPARATE_SCANS))
    out: dict[str, list[float | None]] = {}
    for column, qs in wanted.items():
        plan = plans[column]
        if plan is None:  # Polars' own (holding the column), for the case the buckets can't serve
            exprs = [x.quantile(q, interpolation=interpolation).alias(str(i)) for i, q in enumerate(qs)]
            out[column] = list(lf.select(values[column]).select(exprs).collect(engine="streaming").row(0))
            continue
        pos, offsets = plan
        chosen = next(picked)["x"].to_numpy()[offsets]
        k = len(qs)
        if interpolation == "nearest":
            out[column] = [float(v) for v in chosen[:k]]
        else:
            low, high = chosen[:k], chosen[k:]
            out[column] = [float(v) for v in low + (high - low) * (pos - np.floor(pos))]  # as Polars does
    return out
