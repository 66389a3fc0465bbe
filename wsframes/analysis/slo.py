"""Service levels: the share of requests within a latency threshold, and Apdex.

Both answer "how many requests were fast enough?" rather than "how fast on average?".
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from wsframes.analysis._frames import (
    ByLike,
    Frame,
    as_lazy,
    clean_durations,
    finish,
    group_keys,
    key_names,
    require_columns,
    seconds,
    wilson_interval,
)

__all__ = ["apdex", "slo_attainment"]


def _value(metric: str) -> pl.Expr:
    return pl.col(metric)  # after clean_durations: Float64, NaN turned into null


def _aggregate(lf: pl.LazyFrame, keys: list[pl.Expr], names: list[str], aggs: list[pl.Expr]) -> pl.LazyFrame:
    """One row per group, sorted; ungrouped, one row, or none for an empty input.

    A bare ``select`` of aggregates always yields one row, so an empty input would give a row of
    zeros and a 0/0 share; the documented rule is an empty frame, as a grouped call gives.
    """
    if keys:
        return lf.group_by(keys).agg(aggs).sort(names, nulls_last=True)
    return lf.select(*aggs, pl.len().alias("_rows")).filter(pl.col("_rows") > 0).drop("_rows")


def slo_attainment(
    df: Frame,
    *,
    threshold: float | timedelta,
    metric: str = "handshake_duration",
    by: ByLike = None,
    confidence: float = 0.95,
) -> Frame:
    """Share of requests with *metric* at or under *threshold* seconds, with a Wilson interval.

    Columns: ``[by...], count, within, attainment, ci_low, ci_high``; null durations are not
    counted, and a group with none left has a null ``attainment`` (not NaN). Sorted by the group
    keys. An empty input gives an empty frame with these columns.

    Parameters
    ----------
    df : activity frame: Polars ``DataFrame`` or ``LazyFrame``, or pandas; the result is the same kind.
    threshold : the objective, in seconds or as a timedelta (e.g. 0.25 for "handshake within 250 ms").
    metric : the duration column judged.
    by : column names, expressions or ``"outcome"``.
    confidence : level of the Wilson interval.

    >>> import polars as pl
    >>> d = pl.DataFrame({"handshake_duration": [0.1, 0.2, 0.5, 0.9]})
    >>> slo_attainment(d, threshold=0.2)["attainment"][0]
    0.5
    """
    lf, kind = as_lazy(df, func="slo_attainment")
    require_columns(lf, [metric], func="slo_attainment")
    lf = clean_durations(lf, [metric])
    limit = seconds(threshold, name="threshold")
    keys = group_keys(by, func="slo_attainment")
    names = key_names(lf, keys)
    aggs = [
        _value(metric).count().cast(pl.UInt32).alias("count"),
        (_value(metric) <= limit).sum().cast(pl.UInt32).alias("within"),
    ]
    low, high = wilson_interval("within", "count", confidence=confidence)
    out = _aggregate(lf, keys, names, aggs).with_columns(
        pl.when(pl.col("count") > 0).then(pl.col("within") / pl.col("count")).alias("attainment"), low, high
    )
    return finish(out, kind)


def apdex(
    df: Frame,
    *,
    threshold: float | timedelta,
    metric: str = "request_duration",
    by: ByLike = None,
) -> Frame:
    """Apdex score for target time T = *threshold* seconds.

    Satisfied: duration <= T; tolerating: T < duration <= 4T; frustrated: slower, or failed
    (per the Apdex specification, errors count as frustrated). ``apdex = (satisfied +
    tolerating / 2) / count``. Columns: ``[by...], count, satisfied, tolerating, frustrated, apdex``;
    *threshold* must be positive. An empty input gives an empty frame with these columns.

    >>> import polars as pl
    >>> d = pl.DataFrame({"request_duration": [0.1, 0.3, 9.0], "error_reason": [None, None, None]})
    >>> apdex(d, threshold=0.2)["apdex"][0]
    0.5
    """
    lf, kind = as_lazy(df, func="apdex")
    require_columns(lf, [metric, "error_reason"], func="apdex")
    lf = clean_durations(lf, [metric])
    t = seconds(threshold, name="threshold")
    keys = group_keys(by, func="apdex")
    names = key_names(lf, keys)
    ok = pl.col("error_reason").is_null() & _value(metric).is_not_null()
    aggs = [
        pl.len().cast(pl.UInt32).alias("count"),
        (ok & (_value(metric) <= t)).sum().cast(pl.UInt32).alias("satisfied"),
        (ok & (_value(metric) > t) & (_value(metric) <= 4 * t)).sum().cast(pl.UInt32).alias("tolerating"),
    ]
    out = _aggregate(lf, keys, names, aggs).with_columns(
        (pl.col("count") - pl.col("satisfied") - pl.col("tolerating")).alias("frustrated"),
        ((pl.col("satisfied") + pl.col("tolerating") / 2) / pl.col("count")).alias("apdex"),
    )
    return finish(out, kind)
