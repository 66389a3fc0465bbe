"""Traffic: requests and bytes over time, the weekly rhythm, bandwidth by key, concurrency.

>>> import polars as pl
>>> from datetime import datetime, UTC
>>> d = pl.DataFrame({"timestamp": [datetime(2026, 11, 2, 9, 5, tzinfo=UTC)] * 2,
...                   "bytes": [100, 300], "error_reason": [None, "bandwidthlimit"]})
>>> traffic_over_time(d).select("requests", "failed", "bytes").row(0)
(2, 1, 400)
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from wsframes.analysis._frames import (
    ByLike,
    Frame,
    as_lazy,
    failed_expr,
    fill_time_gaps,
    finish,
    group_keys,
    key_names,
    ranking_keys,
    require_columns,
    time_bucket,
)
from wsframes.analysis._pushdown import engine_keys, traffic_minutes, whole_minutes
from wsframes.errors import ConfigurationError
from wsframes.timeutil import check_tz, parse_duration

__all__ = ["bandwidth_by", "estimated_concurrency", "hourly_profile", "traffic_over_time"]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def traffic_over_time(
    df: Frame,
    *,
    every: str | timedelta = "1h",
    by: ByLike = None,
    tz: str = "UTC",
    fill_gaps: bool = True,
) -> Frame:
    """Volume per time bucket: ``time, [by...], requests, failed, bytes``.

    ``time`` is the bucket start in *tz*. Buckets without requests between the first and the
    last are listed with zeros (an hour with no traffic is news, and a plot must not bridge
    it); ``fill_gaps=False`` leaves them out. Sorted by time, then group.

    Parameters
    ----------
    df : activity frame: Polars ``DataFrame`` or ``LazyFrame``, or pandas; the result is the same kind.
    every : bucket width, a Polars duration (``"15m"``, ``"1h"``, ``"1d"``) or a timedelta.
    by : column names, expressions or ``"outcome"``; group key columns lead the result.
    tz : IANA time zone for bucketing and display (buckets are truncated in local time).
    fill_gaps : list empty buckets with zeros (default) or leave them out.
    """
    lf, kind = as_lazy(df, func="traffic_over_time")
    require_columns(lf, ["timestamp", "bytes", "error_reason"], func="traffic_over_time")
    keys = [time_bucket(every, tz), *group_keys(by, func="traffic_over_time")]
    names = key_names(lf, keys)
    pushed = engine_keys(by) if kind.engine is not None and whole_minutes(every) else None
    if kind.engine is not None and pushed is not None:
        # DuckDB, Spark: the engine counts per minute and group; the buckets add those up.
        minutes = traffic_minutes(kind.engine, pushed, names[1:])
        aggs = [pl.col("_requests").sum().cast(pl.UInt32), pl.col("_failed").sum().cast(pl.UInt32)]
        lf, keys = minutes, [keys[0], *(pl.col(n) for n in names[1:])]
    else:
        aggs = [pl.len().cast(pl.UInt32), failed_expr().sum()]
    out = (
        lf.group_by(keys)
        .agg(aggs[0].alias("requests"), aggs[1].alias("failed"), pl.col("bytes").sum().alias("bytes"))
        .sort(names, nulls_last=True)
    )
    if fill_gaps:
        out = fill_time_gaps(out, every, names[1:], ["requests", "failed", "bytes"])
    return finish(out, kind)


def hourly_profile(df: Frame, *, tz: str = "UTC") -> Frame:
    """The weekly rhythm: one row per weekday and hour of day in *tz* (all 168, zeros included).

    Columns: ``weekday`` (1 = Monday ... 7 = Sunday), ``weekday_name``, ``hour`` (0-23),
    ``requests``, ``failed``, ``error_rate`` (null without requests), ``bytes``. Sorted by
    weekday, then hour.
    """
    lf, kind = as_lazy(df, func="hourly_profile")
    require_columns(lf, ["timestamp", "bytes", "error_reason"], func="hourly_profile")
    local = pl.col("timestamp").dt.convert_time_zone(check_tz(tz).key)
    counts = lf.group_by(
        local.dt.weekday().cast(pl.Int8).alias("weekday"), local.dt.hour().cast(pl.Int8).alias("hour")
    ).agg(
        pl.len().cast(pl.UInt32).alias("requests"),
        failed_expr().sum().alias("failed"),
        pl.col("bytes").sum().alias("bytes"),
    )
    grid = pl.LazyFrame(
        {
            "weekday": [d for d in range(1, 8) for _ in range(24)],
            "weekday_name": [_WEEKDAYS[d - 1] for d in range(1, 8) for _ in range(24)],
            "hour": [h for _ in range(7) for h in range(24)],
        },
        schema={"weekday": pl.Int8, "weekday_name": pl.String, "hour": pl.Int8},
    )
    out = (
        grid.join(counts, on=["weekday", "hour"], how="left")
        .with_columns(
            pl.col("requests").fill_null(0),
            pl.col("failed").fill_null(0),
            pl.col("bytes").fill_null(0).cast(pl.Int64),
        )
        .with_columns(
            pl.when(pl.col("requests") > 0).then(pl.col("failed") / pl.col("requests")).alias("error_rate")
        )
        .sort("weekday", "hour")
        .select("weekday", "weekday_name", "hour", "requests", "failed", "error_rate", "bytes")
    )
    return finish(out, kind)


def bandwidth_by(
    df: Frame, *, by: ByLike = None, n: int | None = None
) -> Frame:
    """Where the bytes go: ``<by...>, requests, bytes, share, cumulative_share, mean_bytes``.

    ``share`` is the value's part of all bytes; sorted by bytes, largest first, so
    ``cumulative_share`` reads "the top k carry x% of the traffic". *n* keeps the first rows.
    Use ``by="proxy_address"`` for bandwidth by proxy, ``by="outcome"`` for the bytes of
    failed requests against successful ones.

    Parameters
    ----------
    df : activity frame: Polars ``DataFrame`` or ``LazyFrame``, or pandas; the result is the same kind.
    by : what to split the bytes by, default ``"domain"``: column names, expressions or
        ``"outcome"``; the key columns lead the result.
    n : rows to keep (``None``: all).

    >>> import polars as pl
    >>> d = pl.DataFrame({"domain": ["a.com", "b.com", "a.com"], "bytes": [10, 70, 20],
    ...                   "error_reason": [None, None, "bandwidthlimit"]})
    >>> bandwidth_by(d, by="outcome").select("outcome", "bytes", "share").rows()
    [('success', 80, 0.8), ('failed', 20, 0.2)]
    """
    lf, kind = as_lazy(df, func="bandwidth_by")
    require_columns(lf, ["bytes"], func="bandwidth_by")
    keys = ranking_keys(by, default="domain", func="bandwidth_by")
    names = key_names(lf, keys)
    if n is not None and (not isinstance(n, int) or n < 1):
        raise ConfigurationError(f"n={n!r} must be a positive number of rows or None for all.")
    out = (
        lf.group_by(keys)
        .agg(pl.len().cast(pl.UInt32).alias("requests"), pl.col("bytes").sum().alias("bytes"))
        .sort(
            ["bytes", "requests", *names],
            descending=[True, True] + [False] * len(names),
            nulls_last=True,
        )
        .with_columns(
            (pl.col("bytes") / pl.col("bytes").sum()).alias("share"),
            (pl.col("bytes").cum_sum() / pl.col("bytes").sum()).alias("cumulative_share"),
            (pl.col("bytes") / pl.col("requests")).alias("mean_bytes"),
        )
    )
    return finish(out.head(n) if n is not None else out, kind)


def _fixed_micros(every: str | timedelta) -> int:
    """Bucket width in microseconds; concurrency needs a fixed width, not a calendar unit."""
    width = every if isinstance(every, timedelta) else parse_duration(every)
    micros = int(width.total_seconds() * 1_000_000)
    if micros <= 0:
        raise ConfigurationError(f"every={every!r} must be a positive duration such as '1m' or '1h'.")
    return micros


def estimated_concurrency(
    df: Frame, *, every: str | timedelta = "1m", tz: str = "UTC", metric: str = "request_duration"
) -> Frame:
    """Requests in flight, estimated from start times and durations.

    Each request is taken to occupy ``[timestamp, timestamp + request_duration)``. Per bucket:
    ``time`` (start, in *tz*), ``started`` (requests starting in it), ``mean_concurrency`` (the
    time-average number in flight: overlapping request-seconds / bucket seconds, the same
    definition as the API's hourly ``average_concurrency``) and ``peak_concurrency`` (most in
    flight at once, from an event sweep; null for a bucket where nothing starts or ends).
    *every* must be a fixed width: ``"30s"``, ``"1m"``, ``"1h"``, ``"1d"``. Buckets start on the
    local clock of *tz* (local midnights for ``"1d"``) and hold absolute time, so the hour repeated
    when daylight saving ends is two buckets; a request spilling over a bucket edge is split at
    fixed widths. Buckets with nothing in flight are absent.

    Parameters
    ----------
    df : activity frame: Polars ``DataFrame`` or ``LazyFrame``, or pandas; the result is the same kind.
    every : fixed bucket width (``"30s"``, ``"1m"``, ``"1h"``, ``"1d"`` or a timedelta).
    tz : IANA time zone for bucketing and display (buckets are truncated in local time).
    metric : the duration a request stays in flight (default ``request_duration``).
    """
    lf, kind = as_lazy(df, func="estimated_concurrency")
    require_columns(lf, ["timestamp", metric], func="estimated_concurrency")
    width = _fixed_micros(every)
    zone = check_tz(tz).key

    def bucket(t: pl.Expr) -> pl.Expr:
        # Instants stay absolute (UTC microseconds) so a repeated local hour at the end of
        # daylight saving stays two buckets; only the alignment follows the local clock.
        utc = t.dt.epoch("us")
        offset = t.dt.convert_time_zone(zone).dt.replace_time_zone(None).dt.epoch("us") - utc
        return (utc + offset) // width * width - offset

    duration = pl.col(metric).cast(pl.Float64).fill_nan(None).fill_null(0.0).clip(0.0)
    start = pl.col("timestamp")
    end = start + pl.duration(microseconds=(duration * 1e6).cast(pl.Int64))
    spans = lf.select(
        start.dt.epoch("us").alias("_s"),
        end.dt.epoch("us").alias("_e"),
        bucket(start).alias("_b0"),
        bucket(end).alias("_be"),
    )
    pieces = (
        spans.with_columns(
            pl.int_ranges(0, ((pl.col("_e") - 1 - pl.col("_b0")) // width + 1).clip(1)).alias("_k")
        )
        .explode("_k")
        .with_columns((pl.col("_b0") + pl.col("_k") * width).alias("_b"))
        .with_columns(
            (pl.min_horizontal("_e", pl.col("_b") + width) - pl.max_horizontal("_s", "_b"))
            .clip(0)
            .alias("_us"),
            (pl.col("_k") == 0).cast(pl.UInt32).alias("_started"),
        )
        .group_by("_b")
        .agg(
            pl.col("_started").sum().alias("started"), (pl.col("_us").sum() / width).alias("mean_concurrency")
        )
    )
    occupied = spans.filter(pl.col("_e") > pl.col("_s"))  # an empty interval is never in flight
    events = pl.concat(
        [
            occupied.select(
                pl.col("_s").alias("_t"), pl.lit(1, pl.Int32).alias("_d"), pl.col("_b0").alias("_b")
            ),
            occupied.select(
                pl.col("_e").alias("_t"), pl.lit(-1, pl.Int32).alias("_d"), pl.col("_be").alias("_b")
            ),
        ]
    ).sort("_t", "_d")  # at equal times ends (-1) come first: intervals are half-open
    peaks = (
        events.with_columns(pl.col("_d").cum_sum().alias("_level"))
        .group_by("_b")
        .agg(
            # the level just before an event counts too: it was reached earlier in the bucket
            # or carried in from the previous one
            pl.max_horizontal("_level", pl.col("_level") - pl.col("_d"))
            .max()
            .cast(pl.UInt32)
            .alias("peak_concurrency")
        )
    )
    out = (
        pieces.join(peaks, on="_b", how="left")
        .sort("_b")
        .select(
            pl.from_epoch("_b", time_unit="us")
            .dt.replace_time_zone("UTC")
            .dt.convert_time_zone(zone)
            .alias("time"),
            pl.col("started").cast(pl.UInt32),
            "mean_concurrency",
            "peak_concurrency",
        )
    )
    return finish(out, kind)
