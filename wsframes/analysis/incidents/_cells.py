"""Counts per time bucket and segment: the small tables every incident test works on.

One pass over the activity frame per dimension (Polars ``group_by``; the engine runs them in
parallel), so the statistics never touch the raw rows again except for a few candidate segments.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from wsframes.analysis._frames import time_bucket

#: Dimensions searched for the segment that explains an incident, most readable first: on a tie
#: (e.g. a datacenter proxy's listen and outbound address are the same machine) the first wins.
DIMENSIONS = (
    "domain",
    "hostname",
    "listen_address",
    "listen_port",
    "proxy_address",
    "proxy_net",
    "client_address",
    "port",
    "protocol",
)
#: The dimension of the per-error-code rows (events: that code; trials: every request).
ERROR_REASON = "error_reason"
ALL = "all"

CELL_SCHEMA = {
    "dimension": pl.String,
    "value": pl.String,
    "t": pl.Datetime("us", "UTC"),
    "n": pl.Int64,
    "f": pl.Int64,
    "s": pl.Int64,
}


def prepare(lf: pl.LazyFrame, *, every: str | timedelta, tz: str, slow_after: float) -> pl.LazyFrame:
    """Bucket start (UTC), failure and slowness flags, and the derived proxy /24."""
    proxy = pl.col("proxy_address").cast(pl.String)
    return lf.select(
        time_bucket(every, tz, name="t").dt.convert_time_zone("UTC"),
        "timestamp",
        # Records sharing a timestamp are one burst from one client to one target: they succeed
        # or fail together far more than independent requests do, so a burst counts as one trial
        # (its rows weigh 1/size) and the tests stay honest about how much evidence there is.
        (1.0 / pl.len().over("timestamp")).alias("w"),
        pl.col("request_duration").cast(pl.Float64),
        pl.col("error_reason").cast(pl.String),
        pl.col("error_reason").is_not_null().alias("failed"),
        (pl.col("request_duration").cast(pl.Float64) > slow_after).alias("slow"),
        *[pl.col(c) for c in DIMENSIONS if c not in ("proxy_net",)],
        # A /24 groups the proxies a provider rents together (a subnet that is blocked or slow).
        pl.when(proxy.str.contains(r"^\d+\.\d+\.\d+\.\d+$"))
        .then(proxy.str.replace(r"\.\d+$", ".0/24"))
        .alias("proxy_net"),
    )


def _counts(lf: pl.LazyFrame, dimension: str | None) -> pl.LazyFrame:
    keys = ["t"] if dimension is None else ["t", dimension]
    w = pl.col("w")
    out = lf.group_by(keys).agg(
        w.sum().round().cast(pl.Int64).alias("n"),
        w.filter(pl.col("failed")).sum().round().cast(pl.Int64).alias("f"),
        w.filter(pl.col("slow")).sum().round().cast(pl.Int64).alias("s"),
    )
    value = pl.lit(ALL) if dimension is None else pl.col(dimension).cast(pl.String)
    return out.select(
        pl.lit(dimension or ALL).alias("dimension"), value.alias("value"), "t", "n", "f", "s"
    ).drop_nulls("value")


def cells(prepared: pl.LazyFrame) -> pl.DataFrame:
    """Requests ``n``, failures ``f`` and slow requests ``s`` per bucket ``t`` and segment.

    Counts are of bursts (see :func:`prepare`): rounded sums of the row weights.

    Rows of dimension ``error_reason`` count that code's failures in ``f`` and every request of
    the bucket in ``n`` (a code's share of all requests), with ``s`` null.
    """
    parts = [_counts(prepared, None), *(_counts(prepared, d) for d in DIMENSIONS)]
    codes = (
        prepared.filter(pl.col("failed"))
        .group_by("t", "error_reason")
        .agg(pl.col("w").sum().round().cast(pl.Int64).alias("f"))
    )
    frames = pl.collect_all([*parts, codes])
    every = frames[0]
    code_rows = (
        frames[-1]
        .join(every.select("t", "n"), on="t")
        .select(
            pl.lit(ERROR_REASON).alias("dimension"),
            pl.col("error_reason").alias("value"),
            "t",
            "n",
            "f",
            pl.lit(None, pl.Int64).alias("s"),
        )
    )
    return pl.concat([*frames[:-1], code_rows], how="vertical_relaxed").cast(CELL_SCHEMA)  # type: ignore[arg-type]
