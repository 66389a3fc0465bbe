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

import functools
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, NamedTuple

import numpy as np
import polars as pl

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
#: Polars' interpolations served by :func:`scan_quantile_table`, or NumPy's linear one.
Interpolation = Literal["linear", "nearest", "numpy"]


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


def scan_quantile_table(
    lf: pl.LazyFrame,
    wanted: Mapping[str, Sequence[float]],
    *,
    by: Sequence[str | pl.Expr] = (),
    interpolation: Interpolation = "linear",
) -> pl.DataFrame:
    """Exact quantiles of columns of a scan per group of *by*, with memory bounded by groups x buckets.

    Nulls and NaN are ignored. One row per group (none for an empty scan; one for ``by=()``
    unless the scan is empty), in no particular order: the key columns, then per column of
    *wanted* ``"{column}:count"`` (its values in the group) and ``"{column}:q{i}"`` for its
    *i*-th quantile (null where the group has no value).

    ``Expr.quantile`` holds a whole column; over 100M rows that is gigabytes. Two streaming
    passes instead: the first counts values per group and bucket (1/256 of an octave, as in
    :func:`exact_quantiles`) with each bucket's min and max, so its result has at most
    groups x ~5,000 rows for durations of 1 ms to 1,000 s; the second reads only the values of
    the few (group, bucket) pairs holding the order statistics. *interpolation* is Polars'
    ``"linear"`` or ``"nearest"``: the same order statistics and arithmetic as
    ``Expr.quantile`` (also per group), so the same numbers to the bit; or ``"numpy"``:
    ``numpy.quantile``'s ``"linear"``, as :func:`exact_quantiles` and :func:`grouped_summary`
    (the same order statistics, rounded as NumPy does).
    """
    keys = [pl.col(k) if isinstance(k, str) else k for k in by]
    names = lf.select(keys).collect_schema().names() if keys else []
    values = {c: lf.select(*keys, pl.col(c).cast(pl.Float64).fill_nan(None).alias("x")) for c in wanted}
    counted = [
        v.group_by(*names, BUCKET).agg(pl.len(), _X.min().alias("lo"), _X.max().alias("hi"))
        for v in values.values()
    ]
    hists = pl.collect_all(counted, engine="streaming", optimizations=SEPARATE_SCANS)
    plans = {
        c: bucket_plan(h, names, qs, interpolation) for (c, qs), h in zip(wanted.items(), hists, strict=True)
    }
    # Pass 2: the values of the needed (group, bucket) pairs, tagged with their group's number.
    needed = {c: plan.needed for c, plan in plans.items() if plan.needed is not None and plan.needed.height}
    ranges = dict(zip(wanted, hists, strict=True))
    sorted_values = pl.collect_all(
        [_needed_values(values[c], pairs, ranges[c], names).sort("_g", "x") for c, pairs in needed.items()],
        engine="streaming",
        optimizations=SEPARATE_SCANS,
    )
    chosen = {c: frame["x"].to_numpy() for c, frame in zip(needed, sorted_values, strict=True)}
    tables = []
    for column, qs in wanted.items():
        plan = plans[column]
        if plan.needed is None:  # the buckets can't serve: per-group quantiles holding the column
            tables.append(_in_memory(values[column], names, column, qs, interpolation))
        else:
            tables.append(pick_quantiles(plan, chosen.get(column, np.empty(0)), column, interpolation))
    out = tables[0]
    for table in tables[1:]:
        out = (
            out.join(table, on=names, how="full", coalesce=True, nulls_equal=True)
            if names
            else out.hstack(table)
        )
    return out


#: Up to this many buckets, pass 2 of an ungrouped scan filters on the buckets' value ranges: no
#: bucket number per row and no join (10M rows: 0.55 s against 1.3 s for one bucket; even at 40).
_RANGE_FILTER_BUCKETS = 24


def _needed_values(
    values: pl.LazyFrame, pairs: pl.DataFrame, hist: pl.DataFrame, names: list[str]
) -> pl.LazyFrame:
    """``_g, x``: the values of *values* in the needed (group, bucket) *pairs* of pass 2.

    Without groups, a bucket holds exactly the values between its smallest and largest (the
    buckets are disjoint ranges, checked by :func:`_plan`), so a few buckets are a filter.
    """
    if not names:
        wanted = hist.join(pairs, on="bucket")
        if wanted.height <= _RANGE_FILTER_BUCKETS:
            inside = pl.any_horizontal(
                [_X.is_between(lo, hi) for lo, hi in wanted.select("lo", "hi").iter_rows()]
            )
            return values.filter(inside).select(pl.lit(0, pl.UInt32).alias("_g"), "x")
    keyed = values.with_columns(BUCKET)
    return keyed.join(pairs.lazy(), on=[*names, "bucket"], nulls_equal=True).select("_g", "x")


def _in_memory(
    lf: pl.LazyFrame, names: list[str], column: str, qs: Sequence[float], interpolation: Interpolation
) -> pl.DataFrame:
    """:func:`scan_quantile_table`'s result for one column (values in ``x``) by Polars' aggregations."""
    if interpolation == "numpy":
        quantiles = [quantiles_array(_X, qs).arr.get(i).fill_nan(None) for i in range(len(qs))]
    else:
        quantiles = [_X.quantile(q, interpolation=interpolation) for q in qs]
    aggs = [_X.count().cast(pl.UInt32).alias(f"{column}:count")]
    aggs += [e.alias(f"{column}:q{i}") for i, e in enumerate(quantiles)]
    return (lf.group_by(names).agg(aggs) if names else lf.select(aggs)).collect(engine="streaming")


_X = pl.col("x")
# A monotone bucket number of column ``x``: sign, then the octave and 8 bits below it. Null stays
# null: its bucket counts a group's nulls, which older Polars' linear position counts too.
_MAGNITUDE = (_X.abs().log(2) * 256).floor().cast(pl.Int64, strict=False) + 300_000
BUCKET = (
    pl.when(_X > 0).then(_MAGNITUDE).when(_X < 0).then(-_MAGNITUDE).when(_X == 0).then(0).alias("bucket")
)


@functools.cache
def _polars_counts_nulls_in_position() -> bool:
    """Whether this Polars sorts a column's nulls first and interpolates ``"linear"`` at the
    position shifted by them (2.1 does, 2.2 does not): the fraction then differs in its last
    bits, and the aim is Polars' own number. 3 nulls shift 0.1 to 3.1, whose fraction is not 0.1."""
    return pl.Series([None, None, None, 0.0, 1.0]).quantile(0.1, "linear") != 0.1


class BucketPlan(NamedTuple):
    """One column's pass 2: the (group, bucket) pairs to read (None: the buckets cannot serve),
    each group's interpolation positions, and the offsets of its order statistics in the values
    read, sorted by (group, value)."""

    groups: pl.DataFrame  # key columns, _g (group number), n (values), nulls
    needed: pl.DataFrame | None
    pos: np.ndarray  # (groups, quantiles)
    offsets: np.ndarray  # (groups holding values, 2 x quantiles): lower, then upper order statistics


def bucket_plan(
    hist: pl.DataFrame, names: list[str], qs: Sequence[float], interpolation: Interpolation
) -> BucketPlan:
    """From one column's histogram (per group and bucket: ``len``, ``lo``, ``hi``), the order
    statistics each group needs and the (group, bucket) pairs holding them."""
    valued = pl.col("bucket").is_not_null()
    sizes = [
        pl.col("len").filter(valued).sum().alias("n"),
        pl.col("len").filter(~valued).sum().alias("nulls"),
    ]
    if names:
        groups = hist.group_by(names).agg(sizes).sort(names, nulls_last=True)
    else:  # no rows, no group
        groups = hist.select(sizes).filter(pl.lit(hist.height > 0))
    groups = groups.with_row_index("_g")
    buckets = (
        hist.filter(valued).join(groups.select(*names, "_g"), on=names, nulls_equal=True)
        if names
        else (hist.filter(valued).with_columns(pl.lit(0, pl.UInt32).alias("_g")))
    )
    buckets = buckets.sort("_g", "bucket")
    g, lo, hi = (buckets[c].to_numpy() for c in ("_g", "lo", "hi"))
    n = buckets["len"].to_numpy().astype(np.int64)
    size, nulls = (groups[c].to_numpy().astype(np.int64)[:, None] for c in ("n", "nulls"))
    pos = (np.maximum(size, 1) - 1) * np.asarray(qs, dtype=np.float64)[None, :]
    if interpolation == "nearest":
        ranks = np.floor(pos + 0.5).astype(np.int64)  # Polars rounds half away from zero
    elif interpolation == "numpy":
        ranks = np.floor(pos).astype(np.int64)
    elif _polars_counts_nulls_in_position():  # Polars < 2.2 (the last bits count)
        pos = pos + nulls
        ranks = np.floor(pos).astype(np.int64) - nulls
    else:
        ranks = np.floor(pos).astype(np.int64)
    filled = size[:, 0] > 0
    ranks = np.concatenate([ranks, np.minimum(ranks + 1, size - 1)], axis=1)[filled]
    if np.any((g[:-1] == g[1:]) & (hi[:-1] >= lo[1:])):  # buckets not disjoint
        return BucketPlan(groups, None, pos, ranks)
    # A group's values follow the previous groups' in the sorted read, as its buckets do here.
    ends = np.cumsum(n)
    ranks = ranks + (np.cumsum(size) - size[:, 0])[filled, None]
    where = np.searchsorted(ends, ranks, side="right")
    needed = np.unique(where)
    kept_before = np.cumsum(n[needed]) - n[needed]  # values of needed buckets below each one
    offsets = kept_before[np.searchsorted(needed, where)] + ranks - (ends[where] - n[where])
    return BucketPlan(groups, buckets[needed].select(*names, "bucket", "_g"), pos, offsets)


def pick_quantiles(
    plan: BucketPlan, chosen: np.ndarray, column: str, interpolation: Interpolation
) -> pl.DataFrame:
    """The groups' quantiles read off *chosen*, the needed buckets' values sorted by (group, value)."""
    k = plan.pos.shape[1]
    out = np.full(plan.pos.shape, np.nan)
    filled = plan.groups["n"].to_numpy() > 0
    picked = chosen[plan.offsets]
    low, high = picked[:, :k], picked[:, k:]
    if interpolation == "nearest":
        out[filled] = low
    elif interpolation == "numpy":
        pos = plan.pos[filled]
        out[filled] = _lerp(low, high, pos - np.floor(pos))
    else:  # as Polars does
        pos = plan.pos[filled]
        out[filled] = low + (high - low) * (pos - np.floor(pos))
    quantiles = [pl.Series(f"{column}:q{i}", out[:, i]).fill_nan(None) for i in range(k)]
    count = plan.groups["n"].cast(pl.UInt32).alias(f"{column}:count")
    return pl.DataFrame([*plan.groups.drop("_g", "n", "nulls").get_columns(), count, *quantiles])


def scan_quantiles(
    lf: pl.LazyFrame, wanted: Mapping[str, Sequence[float]], *, interpolation: Interpolation = "linear"
) -> dict[str, list[float | None]]:
    """:func:`scan_quantile_table` of the whole scan: per column its quantiles in order (None: no value)."""
    table = scan_quantile_table(lf, wanted, interpolation=interpolation)
    row = table.row(0, named=True) if table.height else {}
    return {c: [row.get(f"{c}:q{i}") for i in range(len(qs))] for c, qs in wanted.items()}
