"""Latency distributions: summaries with tail quantiles, histograms, CCDFs, trends, SLOs.

Quantile method
---------------
Exact quantiles use linear interpolation between order statistics, NumPy's default
``method="linear"`` (Hyndman & Fan type 7, Polars ``interpolation="linear"``): for ``n`` values,
quantile ``q`` sits at rank ``h = (n - 1) * q``. Nulls and NaN are ignored. ``method="sketch"``
swaps in the mergeable DDSketch estimate (:mod:`wsframes.analysis.sketch`).

>>> import polars as pl
>>> df = pl.DataFrame({"handshake_duration": [0.1, 0.2, 0.3, 0.4, None]})
>>> latency_summary(df, metrics=["handshake_duration"], quantiles=(0.5,)).row(0)
('handshake_duration', 4, 0.25, 0.25, 0.4)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal

import numpy as np
import polars as pl

from wsframes.analysis._engines import EngineFrame
from wsframes.analysis._frames import (
    ByLike,
    Frame,
    Kind,
    as_lazy,
    check_quantiles,
    clean_durations,
    finish,
    group_keys,
    key_names,
    quantile_name,
    require_columns,
    time_bucket,
)
from wsframes.analysis._pushdown import engine_keys, latency_wide
from wsframes.analysis._quantile import grouped_exact, quantiles_array, scan_quantile_table
from wsframes.analysis.sketch import sketch_quantiles
from wsframes.errors import ConfigurationError
from wsframes.schema import DURATION_COLUMNS

__all__ = [
    "DEFAULT_QUANTILES",
    "latency_ccdf",
    "latency_histogram",
    "latency_over_time",
    "latency_summary",
]

DEFAULT_QUANTILES = (0.5, 0.9, 0.95, 0.99, 0.999)
#: latency_over_time: values a bucket must hold beyond a quantile for it to be shown.
MIN_TAIL = 5
#: The percentile spectrum :func:`latency_ccdf` reports by default (out to p99.99).
SPECTRUM = (*(i / 10 for i in range(10)), 0.95, 0.98, 0.99, 0.995, 0.999, 0.9995, 0.9999, 1.0)
#: Default histogram edges in seconds: 1 ms to 1000 s, ten per decade on round numbers.
_MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
DEFAULT_EDGES = (*(m * 10.0**e for e in range(-3, 3) for m in _MANTISSAS), 1000.0)


def _metric_list(metrics: str | Sequence[str] | None) -> list[str]:
    if metrics is None:
        return list(DURATION_COLUMNS)
    out = [metrics] if isinstance(metrics, str) else list(metrics)
    if not out:
        raise ConfigurationError(
            "metrics= is empty; name at least one duration column, e.g. 'handshake_duration'."
        )
    return out


def _value(metric: str) -> pl.Expr:
    """A duration column, assuming :func:`clean_durations` ran (so no NaN, always Float64)."""
    return pl.col(metric)


def _exact_wide(
    lf: pl.LazyFrame, keys: list[pl.Expr], metrics: list[str], qs: tuple[float, ...]
) -> pl.LazyFrame:
    """All metrics' statistics in one pass: columns ``"{i}:count"``, ``"{i}:p50"``...

    Grouped, the rows are grouped once for every metric (see :func:`grouped_exact`);
    ungrouped, one scan computes every metric's quantiles with :func:`quantiles_array`.
    """
    if keys:
        return grouped_exact(lf, keys, metrics, qs)
    stats: list[pl.Expr] = [
        e
        for i, m in enumerate(metrics)
        for e in (
            pl.col(m).count().cast(pl.UInt32).alias(f"{i}:count"),
            pl.col(m).mean().alias(f"{i}:mean"),
            pl.col(m).max().alias(f"{i}:max"),
        )
    ]
    arrays = [quantiles_array(pl.col(m), qs).alias(f"{i}:_q") for i, m in enumerate(metrics)]
    wide = lf.select(*stats, *arrays, pl.len().alias("_rows")).filter(pl.col("_rows") > 0)
    return wide.with_columns(
        pl.col(f"{i}:_q").arr.get(j).fill_nan(None).alias(f"{i}:{quantile_name(q)}")
        for i in range(len(metrics))
        for j, q in enumerate(qs)
    )


def _scan_wide(lf: pl.LazyFrame, keys: list[pl.Expr], metric: str, qs: tuple[float, ...]) -> pl.LazyFrame:
    """Like :func:`_exact_wide` for one metric, count and quantiles only, by :func:`scan_quantile_table`:
    a scan is read in two streaming passes holding per-group state, never a column of every row.
    Deferred, so the result stays lazy until collected."""
    schema = dict(lf.select(keys).collect_schema()) | {"0:count": pl.UInt32()}
    schema |= {f"0:{quantile_name(q)}": pl.Float64() for q in qs}

    def compute() -> pl.DataFrame:
        names = {f"{metric}:count": "0:count"} | {
            f"{metric}:q{i}": f"0:{quantile_name(q)}" for i, q in enumerate(qs)
        }
        return scan_quantile_table(lf, {metric: qs}, by=keys, interpolation="numpy").rename(names)

    return pl.defer(compute, schema=schema)


def _sketch_wide(
    lf: pl.LazyFrame,
    keys: list[pl.Expr],
    names: list[str],
    metrics: list[str],
    qs: tuple[float, ...],
    alpha: float,
) -> pl.LazyFrame:
    """Like :func:`_exact_wide` with DDSketch quantile estimates."""
    base = lf.with_columns(keys) if keys else lf
    basic = [
        e
        for i, m in enumerate(metrics)
        for e in (
            _value(m).count().cast(pl.UInt32).alias(f"{i}:count"),
            _value(m).mean().alias(f"{i}:mean"),
            _value(m).max().alias(f"{i}:max"),
        )
    ]
    if keys:
        wide = base.group_by(names).agg(basic)
    else:
        wide = base.select(*basic, pl.len().alias("_rows")).filter(pl.col("_rows") > 0).drop("_rows")
    for i, m in enumerate(metrics):
        sk = sketch_quantiles(base, names, m, qs, [f"{i}:{quantile_name(q)}" for q in qs], alpha=alpha)
        # Ungrouped, a cross join with the one-row estimate keeps "no rows in, no rows out".
        wide = wide.join(sk, on=names, how="left", nulls_equal=True) if keys else wide.join(sk, how="cross")
    return wide


def _summary(
    lf: pl.LazyFrame,
    by: ByLike,
    metrics: list[str],
    qs: tuple[float, ...],
    method: str,
    alpha: float,
    func: str,
    engine: EngineFrame | None = None,
    scan: bool = False,
) -> tuple[pl.LazyFrame, list[str]]:
    """The lazy summary plus the names of its group-key columns.

    With *engine* (the caller's DuckDB/Spark frame) and plain ``by=`` names, the per-group
    statistics are computed inside that engine (see :mod:`wsframes.analysis._pushdown`). With
    *scan* (one exact metric of a lazy Polars input), only count and quantiles, by
    :func:`_scan_wide`: in memory, :func:`grouped_exact` is faster (benchmarks/bench_grouped_quantiles.py).
    """
    if method not in ("exact", "sketch"):
        raise ConfigurationError(f"method={method!r}: use 'exact' (default) or 'sketch'.")
    require_columns(lf, metrics, func=func)
    keys = group_keys(by, func=func)
    if method == "sketch" or not keys:
        # The grouped exact path treats NaN as missing itself; skipping this there saves a copy
        # of every metric column.
        lf = clean_durations(lf, metrics)
    names = key_names(lf, keys)
    if set(names) & set(metrics):
        raise ConfigurationError(
            f"by= and metrics= share {sorted(set(names) & set(metrics))}: a column cannot be both a "
            "group key and a summarised metric; bucket it under another name, e.g. "
            "by=pl.col('tunnel_duration').cut([0.1, 1]).alias('tunnel_bucket')."
        )
    pushed = engine_keys(by) if engine is not None and method == "exact" else None
    if engine is not None and pushed is not None:
        wide = latency_wide(engine, pushed, names, metrics, qs)
    elif scan:
        wide = _scan_wide(lf, keys, metrics[0], qs)
    elif method == "exact":
        wide = _exact_wide(lf, keys, metrics, qs)
    else:
        wide = _sketch_wide(lf, keys, names, metrics, qs, alpha)
    stats = [
        "count",
        *(() if scan else ("mean",)),
        *(quantile_name(q) for q in qs),
        *(() if scan else ("max",)),
    ]
    blocks = [
        wide.select(
            *names,
            pl.lit(metric).alias("metric"),
            *(pl.col(f"{i}:{s}").alias(s) for s in stats),
            pl.lit(i, pl.UInt32).alias("_order"),
        )
        for i, metric in enumerate(metrics)
    ]
    out = pl.concat(blocks, how="vertical_relaxed").sort([*names, "_order"], nulls_last=True).drop("_order")
    return out, names


def latency_summary(
    df: Frame,
    *,
    by: ByLike = None,
    metrics: str | Sequence[str] | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    method: Literal["exact", "sketch"] = "exact",
    alpha: float = 0.01,
) -> Frame:
    """One row per group and metric: ``metric, count, mean, p50 ... p99.9, max``.

    Parameters
    ----------
    df : activity frame (Polars eager or lazy, pandas, a DuckDB relation, a PySpark DataFrame or
        another Narwhals lazy frame); the result is the same kind. On DuckDB and Spark, with
        ``by=`` column names, the statistics are computed inside the engine (exact quantiles:
        DuckDB ``quantile_cont``, Spark ``percentile``).
    by : column names, expressions or ``"outcome"``; group key columns lead the result.
    metrics : duration columns (seconds); default handshake, tunnel and request durations.
    quantiles : quantiles in [0, 1]; columns are named ``p50``, ``p99.9`` etc.
    method : ``"exact"`` (default; NumPy ``linear``, see module docstring) or ``"sketch"``
        (DDSketch estimate within relative error *alpha* of NumPy's ``lower`` quantile). The
        sketch is not faster on one frame; it is for long ranges, where per-period
        :class:`~wsframes.analysis.QuantileSketch` objects merge instead of re-reading data.
    alpha : relative error of the sketch (``method="sketch"`` only).

    ``count`` counts non-null values; groups whose metric is all null get null statistics.
    Rows are sorted by the group keys, then metrics in the order given.
    """
    lf, kind = as_lazy(df, func="latency_summary")
    qs = check_quantiles(quantiles)
    out, _ = _summary(lf, by, _metric_list(metrics), qs, method, alpha, "latency_summary", kind.engine)
    return finish(out, kind)


def _edges(bins: int | Sequence[float] | None, lf: pl.LazyFrame, metric: str) -> list[float]:
    if bins is None:
        return list(DEFAULT_EDGES)
    if isinstance(bins, bool):
        raise ConfigurationError("bins= takes a number of bins or a list of edges, not a bool.")
    if isinstance(bins, int):
        if bins < 1:
            raise ConfigurationError(f"bins={bins!r} must be a positive number of bins or a list of edges.")
        lo, hi = (
            lf.select(
                _value(metric).filter(_value(metric) > 0).min().alias("lo"), _value(metric).max().alias("hi")
            )
            .collect()
            .row(0)
        )
        if lo is None or hi is None or hi <= lo:
            return list(DEFAULT_EDGES)
        geometric: list[float] = np.geomspace(lo, np.nextafter(hi, np.inf), bins + 1).tolist()
        return geometric
    edges = [float(e) for e in bins]
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ConfigurationError("bins= edges must be at least two strictly increasing numbers (seconds).")
    return edges


def latency_histogram(
    df: Frame,
    *,
    metric: str = "handshake_duration",
    by: ByLike = None,
    bins: int | Sequence[float] | None = None,
) -> Frame:
    """Counts on log-spaced bins: ``bin_start, bin_end, count, share, cumulative_share``.

    A bin holds values in ``[bin_start, bin_end)``. ``cumulative_share`` is the share of values
    below ``bin_end``, so "% of handshakes under 200 ms" is the row with ``bin_end == 0.2``.
    Default edges run from 1 ms to 1000 s on round numbers (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 per
    decade); values outside fall in an open first bin (``bin_start`` null) or last (``bin_end`` null).
    ``bins=int`` spans the data's positive range with that many geometric bins (reading the data
    once to find that range, also for a LazyFrame); a list gives edges.
    Every bin is listed (zero counts included), per group.

    >>> import polars as pl
    >>> h = latency_histogram(pl.DataFrame({"handshake_duration": [0.1, 0.15, 0.3]}), bins=[0.1, 0.2, 1.0])
    >>> h.select("bin_end", "count", "cumulative_share").rows()
    [(0.1, 0, 0.0), (0.2, 2, 0.6666666666666666), (1.0, 1, 1.0), (None, 0, 1.0)]
    """
    lf, kind = as_lazy(df, func="latency_histogram")
    require_columns(lf, [metric], func="latency_histogram")
    lf = clean_durations(lf, [metric])
    keys = group_keys(by, func="latency_histogram")
    names = key_names(lf, keys)
    edges = _edges(bins, lf, metric)
    lows: list[float | None] = [None, *edges]
    highs: list[float | None] = [*edges, None]
    grid = pl.LazyFrame(
        {"_bin": pl.Series(range(len(edges) + 1), dtype=pl.UInt32), "bin_start": lows, "bin_end": highs},
        schema={"_bin": pl.UInt32, "bin_start": pl.Float64, "bin_end": pl.Float64},
    )
    values = (
        lf.with_columns(keys).select(*names, _value(metric).alias("_v")).filter(pl.col("_v").is_not_null())
    )
    binned = values.with_columns(
        pl.lit(pl.Series(edges)).search_sorted(pl.col("_v"), side="right").cast(pl.UInt32).alias("_bin")
    )
    counts = binned.group_by(*names, "_bin").agg(pl.len().cast(pl.UInt32).alias("count"))
    frame = counts.select(*names).unique().join(grid, how="cross") if names else grid
    full = frame.join(counts, on=[*names, "_bin"], how="left", nulls_equal=True).with_columns(
        pl.col("count").fill_null(0)
    )
    total = pl.col("count").sum().over(names) if names else pl.col("count").sum()
    cum = pl.col("count").cum_sum().over(names, order_by="_bin") if names else pl.col("count").cum_sum()
    out = (
        full.sort([*names, "_bin"], nulls_last=True)
        .with_columns(
            (pl.col("count") / total).alias("share"),
            (cum / total).alias("cumulative_share"),
        )
        .select(*names, "bin_start", "bin_end", "count", "share", "cumulative_share")
    )
    return finish(out, kind)


def latency_ccdf(
    df: Frame,
    *,
    metric: str = "handshake_duration",
    by: ByLike = None,
    quantiles: Sequence[float] = SPECTRUM,
) -> Frame:
    """The percentile spectrum: ``quantile, exceedance, value`` per group, out to p99.99.

    ``exceedance = 1 - quantile`` is the CCDF's y: the share of requests slower than ``value``.
    Quantiles are exact (see the module docstring), sorted ascending within each group.
    """
    lf, kind = as_lazy(df, func="latency_ccdf")
    qs = tuple(sorted(check_quantiles(quantiles)))
    scan = kind is Kind.LAZY
    summary, names = _summary(lf, by, [metric], qs, "exact", 0.01, "latency_ccdf", kind.engine, scan)
    qcols = [quantile_name(q) for q in qs]
    long = summary.unpivot(index=names, on=qcols, variable_name="_name", value_name="value")
    lookup = pl.LazyFrame({"_name": qcols, "quantile": list(qs), "_i": list(range(len(qcols)))})
    out = (
        long.join(lookup, on="_name")
        .sort([*names, "_i"], nulls_last=True)
        .select(*names, "quantile", (1 - pl.col("quantile")).alias("exceedance"), "value")
    )
    return finish(out, kind)


def latency_over_time(
    df: Frame,
    *,
    every: str | timedelta = "1h",
    metric: str = "handshake_duration",
    quantiles: Sequence[float] = (0.5, 0.95, 0.99),
    by: ByLike = None,
    tz: str = "UTC",
    min_tail: int = MIN_TAIL,
) -> Frame:
    """Percentiles per time bucket: ``time, [by...], count, p50, p95, p99``.

    ``time`` is the bucket start in *tz* (buckets are truncated in local time); intervals with no
    requests are absent. Sorted by time, then group.

    A quantile ``q`` is null in a bucket holding fewer than ``min_tail / (1 - q)`` values (with
    the default 5: p50 needs 10, p95 100, p99 500): a p99 of 60 requests is just their maximum,
    noise that plots as a spike. Pass ``min_tail=0`` for every value regardless.
    """
    lf, kind = as_lazy(df, func="latency_over_time")
    require_columns(lf, ["timestamp"], func="latency_over_time")
    qs = check_quantiles(quantiles)
    if min_tail < 0:
        raise ConfigurationError(f"min_tail must be >= 0 values beyond the quantile, not {min_tail!r}.")
    keys = [time_bucket(every, tz), *group_keys(by, func="latency_over_time")]
    summary, names = _summary(
        lf, keys, [metric], qs, "exact", 0.01, "latency_over_time", scan=kind is Kind.LAZY
    )
    out = summary.select(
        *names,
        "count",
        *(
            pl.when(pl.col("count") * (1 - q) >= min_tail)
            .then(pl.col(quantile_name(q)))
            .alias(quantile_name(q))
            for q in qs
        ),
    )
    return finish(out, kind)
