"""Anomalies: which hours departed from normal (:func:`wsframes.analysis.pool_health` grades proxies).

The rule is conservative on purpose: an hour is flagged only when it has enough requests and
departs from a robust baseline (median and MAD, which a few bad hours cannot drag along) by more
than ``threshold`` robust z-units, with a noise floor so that a quiet, steady series does not
turn tiny wobbles into alarms.
"""

from __future__ import annotations

import math
from datetime import timedelta

import polars as pl

from wsframes.analysis._frames import (
    Frame,
    as_lazy,
    check_min_requests,
    clean_durations,
    failed_expr,
    finish,
    require_columns,
    time_bucket,
)
from wsframes.errors import ConfigurationError

__all__ = ["anomalous_hours"]

#: Scales a median absolute deviation to a standard deviation for normal data.
MAD_SCALE = 1.4826


def _robust_z(value: str, enough: pl.Expr, floor: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Baseline (median over well-populated buckets) and robust z of *value*."""
    eligible = pl.col(value).filter(enough)
    baseline = eligible.median()
    mad = (eligible - baseline).abs().median()
    scale = pl.max_horizontal(mad * MAD_SCALE, floor)
    z = pl.when(enough & (scale > 0)).then((pl.col(value) - baseline) / scale)
    return baseline, z


def anomalous_hours(
    df: Frame,
    *,
    every: str | timedelta = "1h",
    tz: str = "UTC",
    metric: str = "handshake_duration",
    min_requests: int = 50,
    threshold: float = 3.5,
    only_anomalous: bool = True,
) -> Frame:
    """Time buckets whose error rate or p95 *metric* rose well above the baseline.

    For every bucket with at least *min_requests* requests: ``error_rate_z`` is the departure
    from the median error rate in units of ``max(1.4826 * MAD, binomial standard error of that
    bucket, Laplace-smoothed)``; ``p95_z`` likewise with a floor of 5 % of the median p95. A bucket is
    ``anomalous`` when either z exceeds *threshold* (3.5 is Iglewicz & Hoaglin's usual cut);
    only rises count, since a drop in failures or latency is not an alarm. ``reason`` says which.

    Columns: ``time, requests, failed, error_rate, error_rate_baseline, error_rate_z, p95,
    p95_baseline, p95_z, anomalous, reason``; sorted by time. ``only_anomalous=False`` returns
    every bucket (handy for plotting the baseline).

    Parameters
    ----------
    df : activity frame: Polars ``DataFrame`` or ``LazyFrame``, or pandas; the result is the same kind.
    every : bucket width, a Polars duration (``"15m"``, ``"1h"``, ``"1d"``) or a timedelta.
    tz : IANA time zone for bucketing and display (buckets are truncated in local time).
    metric : duration whose p95 is watched.
    min_requests : buckets with fewer requests are neither judged nor part of the baseline.
    threshold : robust z above which a bucket is anomalous.
    only_anomalous : return only the flagged buckets (default) or all of them.
    """
    lf, kind = as_lazy(df, func="anomalous_hours")
    require_columns(lf, ["timestamp", "error_reason", metric], func="anomalous_hours")
    check_min_requests(min_requests)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not math.isfinite(threshold)
        or threshold <= 0
    ):
        raise ConfigurationError(
            f"threshold={threshold!r} must be a positive, finite robust z such as 3.5 (at 0 or below "
            "every bucket above the baseline would be flagged; NaN would silently flag none)."
        )
    buckets = (
        clean_durations(lf, [metric])
        .group_by(time_bucket(every, tz))
        .agg(
            pl.len().cast(pl.UInt32).alias("requests"),
            failed_expr().sum().alias("failed"),
            pl.col(metric).quantile(0.95, "linear").alias("p95"),
        )
    )
    enough = pl.col("requests") >= min_requests
    rate = pl.col("failed") / pl.col("requests")
    base_rate = rate.filter(enough).median()
    # Binomial noise of the bucket, with a Laplace-smoothed rate so a baseline of exactly 0
    # failures still has a noise floor (else one failure would be an infinite departure).
    smoothed = (base_rate * pl.col("requests") + 1) / (pl.col("requests") + 2)
    binomial = (smoothed * (1 - smoothed) / pl.col("requests")).sqrt()
    rate_base, rate_z = _robust_z("error_rate", enough, binomial)
    p95_base, p95_z = _robust_z("p95", enough, 0.05 * pl.col("p95").filter(enough).median())
    out = (
        buckets.with_columns(rate.alias("error_rate"))
        .with_columns(
            rate_base.alias("error_rate_baseline"),
            rate_z.alias("error_rate_z"),
            p95_base.alias("p95_baseline"),
            p95_z.alias("p95_z"),
        )
        .with_columns(
            (pl.col("error_rate_z") > threshold).fill_null(False).alias("_e"),
            (pl.col("p95_z") > threshold).fill_null(False).alias("_p"),
        )
        .with_columns(
            (pl.col("_e") | pl.col("_p")).alias("anomalous"),
            pl.when(pl.col("_e") & pl.col("_p"))
            .then(pl.lit("error_rate+p95"))
            .when(pl.col("_e"))
            .then(pl.lit("error_rate"))
            .when(pl.col("_p"))
            .then(pl.lit("p95"))
            .alias("reason"),
        )
        .sort("time")
        .select(
            "time",
            "requests",
            "failed",
            "error_rate",
            "error_rate_baseline",
            "error_rate_z",
            "p95",
            "p95_baseline",
            "p95_z",
            "anomalous",
            "reason",
        )
    )
    return finish(out.filter(pl.col("anomalous")) if only_anomalous else out, kind)
