"""Counts per time bucket and segment: the small tables every incident test works on.

One narrow pass over the activity frame turns each row into integers: a bucket number, a burst
weight, two flags and, per dimension, the physical code of its value (categorical codes; the
text of ``hostname`` is encoded once). Every dimension is then one ``group_by`` on a single
``UInt64`` key ``bucket << 32 | code`` over that narrow frame (the engine runs them in parallel);
the proxy /24 is derived from the proxy cells, not from the rows. Text comes back only for the
segments that survive Tarone's pruning (enough requests to ever be tested), so the statistics
never touch the raw rows again except for a few candidate segments.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import numpy as np
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
#: The latency phases tested, by the name of their slow count in the cells: a request is slow in
#: a phase when that phase took longer than the reference's p95 of it.
PHASES = {"s": "request_duration", "sh": "handshake_duration", "st": "tunnel_duration"}
#: What ``find_incidents`` needs a slowness threshold for: the reference's p95 of each phase
#: (and, under ``by``, the bytes one request counts for at most).
Thresholds = Mapping[str, float | None]
#: Segments with fewer (burst-weighted) requests over the whole period are dropped from the cells
#: (never tested, never named); the error-code rows and the account are always kept.
MIN_KEPT_REQUESTS = 20

CELL_SCHEMA = {
    "dimension": pl.String,
    "value": pl.String,
    "t": pl.Datetime("us", "UTC"),
    "n": pl.Int64,
    "f": pl.Int64,
    "s": pl.Int64,
    "sh": pl.Int64,
    "st": pl.Int64,
    "by": pl.Int64,
    "sid": pl.Int64,
}
_RAW = [d for d in DIMENSIONS if d != "proxy_net"]
#: Keys pack a bucket (or a dimension) above a 32-bit value code.
_HIGH = 1 << 32


def slow_flags(slow_after: Thresholds) -> list[pl.Expr]:
    """One flag per phase (named like its count: ``s``, ``sh``, ``st``): slower than its threshold."""
    return [
        (pl.col(col).cast(pl.Float64) > slow_after[key]).fill_null(False).alias(key)
        if slow_after.get(key) is not None else pl.lit(False).alias(key)
        for key, col in PHASES.items()
    ]


def prepare(lf: pl.LazyFrame, *, every: str | timedelta, tz: str, slow_after: Thresholds) -> pl.LazyFrame:
    """Bucket start (UTC), failure and slowness flags and the segment columns, row by row.

    Used lazily for the few candidate segments an incident describes, never for the scan.
    """
    return lf.select(
        time_bucket(every, tz, name="t").dt.convert_time_zone("UTC"),
        "timestamp",
        *[pl.col(c).cast(pl.Float64) for c in PHASES.values()],
        pl.col("error_reason").cast(pl.String),
        pl.col("error_reason").is_not_null().alias("failed"),
        *slow_flags(slow_after),
        *[pl.col(c) for c in _RAW],
        proxy_net(),
    )


def proxy_net() -> pl.Expr:
    """The proxy's IPv4 /24 (``a.b.c.0/24``), null for other addresses."""
    proxy = pl.col("proxy_address").cast(pl.String)
    return (
        pl.when(proxy.str.contains(r"^\d+\.\d+\.\d+\.\d+$"))
        .then(proxy.str.replace(r"\.\d+$", ".0/24"))
        .alias("proxy_net")
    )


def with_derived(lf: pl.LazyFrame) -> pl.LazyFrame:
    """*lf* with the derived segment columns, so a segment filter works on any activity frame."""
    return lf.with_columns(proxy_net())


def _key(column: str, dtype: pl.DataType) -> pl.Expr:
    """A 32-bit code per value of a narrow column: the categorical code, or the integer itself."""
    col = pl.col(column)
    if dtype.is_integer():
        return col.cast(pl.Int64).cast(pl.UInt32, strict=False).cast(pl.UInt64)
    return col.to_physical().cast(pl.UInt64)


def _narrow(lf: pl.LazyFrame, *, every: str | timedelta, tz: str, slow_after: Thresholds) -> pl.DataFrame:
    """The rows as integers: ``b`` (bucket start, epoch seconds), flags, and categorical columns.

    Text columns are encoded as categoricals once here: later steps hash their codes, not text.
    """
    schema = lf.collect_schema()
    seconds = time_bucket(every, tz, name="t").dt.convert_time_zone("UTC").dt.epoch("s")

    def encoded(c: str) -> pl.Expr:
        dtype = schema[c]
        if dtype.is_integer() or isinstance(dtype, pl.Categorical | pl.Enum):
            return pl.col(c)
        return pl.col(c).cast(pl.String).cast(pl.Categorical)

    return lf.select(
        seconds.alias("b"),
        pl.col("timestamp").dt.epoch("us").alias("ts"),
        pl.col("error_reason").is_not_null().alias("failed"),
        *slow_flags(slow_after),
        # Bytes up to the reference's usual largest (key ``by``): one huge download is no surge.
        pl.col("bytes").clip(upper_bound=slow_after.get("by")).alias("by"),
        *[encoded(c) for c in (*_RAW, ERROR_REASON)],
    ).collect(engine="streaming")  # batch by batch: a scan's text columns never sit in memory whole


def _burst_weights(ts: pl.Series) -> pl.Series:
    """1 / (records sharing the timestamp).

    Records sharing a timestamp are one burst from one client to one target: they succeed or
    fail together far more than independent requests do, so a burst counts as one trial (its
    rows weigh 1/size) and the tests stay honest about how much evidence there is. Activity is
    loaded in time order, so equal timestamps are neighbours and run lengths are enough.
    """
    values = ts.to_numpy()
    if len(values) and bool(np.all(values[1:] >= values[:-1])):
        run = np.cumsum(np.r_[True, values[1:] != values[:-1]]) - 1
        return pl.Series("w", 1.0 / np.bincount(run)[run])
    return ts.to_frame("ts").select((1.0 / pl.len().over("ts")).alias("w")).to_series()


def _agg(narrow: pl.LazyFrame, column: str | None, dtype: pl.DataType | None) -> pl.LazyFrame:
    src = narrow.filter(pl.col("failed")) if column == ERROR_REASON else narrow
    key = pl.col("b").cast(pl.UInt64)
    if column is not None and dtype is not None:
        src = src.filter(pl.col(column).is_not_null())
        key = key * _HIGH + _key(column, dtype)
    return src.group_by(key.alias("key")).agg(
        pl.col("w").sum().alias("n"),
        pl.col("w").filter(pl.col("failed")).sum().alias("f"),
        *[pl.col("w").filter(pl.col(k)).sum().alias(k) for k in PHASES],
        pl.col("by").sum(),  # not burst-weighted: a burst's bytes are all transferred
    )


def _values(narrow: pl.LazyFrame, column: str, dtype: pl.DataType) -> pl.LazyFrame:
    """Code to value for one categorical column: its unique values (hashing codes, not text)."""
    return narrow.select(pl.col(column).unique().drop_nulls()).select(
        _key(column, dtype).alias("code"), pl.col(column).cast(pl.String).alias("value")
    )


def cells(lf: pl.LazyFrame, *, every: str | timedelta, tz: str, slow_after: Thresholds) -> pl.DataFrame:
    """Requests ``n``, failures ``f``, slow requests per phase (``s`` request, ``sh``
    handshake, ``st`` tunnel: see :data:`PHASES`) and bytes ``by`` per bucket ``t`` and segment.

    Counts are of bursts (see :func:`_burst_weights`): rounded sums of the row weights. Each
    segment has an integer id ``sid``. Rows of dimension ``error_reason`` count that code's
    failures in ``f`` and every request of the bucket in ``n`` (a code's share of all
    requests), with the slow counts null. Segments of fewer than :data:`MIN_KEPT_REQUESTS` are left out.
    """
    narrow = _narrow(lf, every=every, tz=tz, slow_after=slow_after)
    narrow = narrow.with_columns(_burst_weights(narrow["ts"])).drop("ts")
    schema = narrow.schema
    coded = [c for c in (*_RAW, ERROR_REASON) if not schema[c].is_integer()]
    dims: list[str | None] = [None, *_RAW, ERROR_REASON]
    frames = pl.collect_all(
        [
            *[_agg(narrow.lazy(), d, None if d is None else schema[d]) for d in dims],
            *[_values(narrow.lazy(), c, schema[c]) for c in coded],
        ]
    )
    del narrow
    counts = dict(zip(dims, frames[: len(dims)], strict=True))
    return _assemble(counts, dict(zip(coded, frames[len(dims) :], strict=True)))


def _split(frame: pl.DataFrame, dimension: str) -> pl.DataFrame:
    return frame.select(
        pl.lit(dimension).alias("dimension"),
        (pl.col("key") % _HIGH).alias("code"),
        (pl.col("key") // _HIGH).cast(pl.Int64).alias("b"),
        "n",
        "f",
        *PHASES,
        "by",
    )


def _assemble(counts: dict[str | None, pl.DataFrame], texts: dict[str, pl.DataFrame]) -> pl.DataFrame:
    columns = ["dimension", "code", "value", "b", "n", "f", *PHASES, "by"]
    parts = []
    for dim in _RAW:
        part = _split(counts[dim], dim)
        if dim in texts:
            part = part.join(texts[dim], on="code", how="left")
        else:
            part = part.with_columns(value=pl.col("code").cast(pl.Int64).cast(pl.String))
        parts.append(part.select(columns))
        if dim == "proxy_address":
            parts.append(_nets(part).select(columns))
    every = counts[None].select(
        pl.lit(ALL).alias("dimension"),
        pl.lit(0, pl.UInt64).alias("code"),
        pl.lit(ALL).alias("value"),
        pl.col("key").cast(pl.Int64).alias("b"),
        "n",
        "f",
        *PHASES,
        "by",
    )
    segments = pl.concat(parts, how="vertical_relaxed").filter(
        pl.col("n").sum().over("dimension", "code") >= MIN_KEPT_REQUESTS
    )
    codes = (
        _split(counts[ERROR_REASON], ERROR_REASON)
        .join(texts[ERROR_REASON], on="code", how="left")
        .drop("n", *PHASES, "by")
        .join(every.select("b", "n"), on="b")
        .with_columns(pl.lit(None, pl.Float64).alias(k) for k in (*PHASES, "by"))
    )
    out = pl.concat([every, segments, codes.select(columns)], how="vertical_relaxed")
    # The segment id: the dimension's rank in the high bits, the value's code in the low ones.
    rank = {d: i for i, d in enumerate((ALL, *DIMENSIONS, ERROR_REASON))}
    dim_rank = pl.col("dimension").replace_strict(rank, return_dtype=pl.Int64)
    return out.select(
        "dimension",
        "value",
        pl.from_epoch("b", time_unit="s")
        .dt.replace_time_zone("UTC")
        .cast(pl.Datetime("us", "UTC"))
        .alias("t"),
        *[pl.col(c).round().cast(pl.Int64) for c in ("n", "f", *PHASES, "by")],
        sid=dim_rank * _HIGH + pl.col("code").cast(pl.Int64),
    ).drop_nulls("value")


def _nets(proxies: pl.DataFrame) -> pl.DataFrame:
    """The /24 cells, summed from the proxy cells (a subnet a provider rents together)."""
    net = pl.col("value").str.replace(r"\.\d+$", ".0/24")
    return (
        proxies.filter(pl.col("value").str.contains(r"^\d+\.\d+\.\d+\.\d+$"))
        .group_by(pl.col("b"), net.alias("value"))
        .agg(pl.col("n", "f", *PHASES, "by").sum())
        .with_columns(
            dimension=pl.lit("proxy_net"),
            code=pl.col("value").rank("dense").cast(pl.UInt64),
        )
    )
