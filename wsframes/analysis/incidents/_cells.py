"""Counts per time bucket and segment: the small tables every incident test works on.

One narrow pass over the activity frame, a stretch of time at a time, turns each row into
integers: a bucket number, a burst weight, flags and, per dimension, the code of its value
(integers are their own code; text is categorical, whose codes are the process's own and so
the same in every stretch). Every dimension
is one ``group_by`` on a single ``UInt64`` key ``bucket << 32 | code`` over that narrow frame (the
engine runs them in parallel), and the stretches' counts add up on that key; the proxy /24 is
derived from the proxy cells, not from the rows. Text comes back once, at the end, so the
statistics never touch the raw rows again except for a few candidate segments.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import narwhals as nw
import numpy as np
import polars as pl

from wsframes.analysis._engines import EngineFrame, to_engine
from wsframes.analysis._frames import time_bucket
from wsframes.api.progress import relay_step

#: Dimensions a frame may carry and the cells then count (null when absent): the proxy's country
#: and network after :func:`wsframes.analysis.enrich`, the plan of a several-plan archive scan
#: and a sub-user's id (:func:`wsframes.archive.scan_activity`).
OPTIONAL_DIMENSIONS = ("plan_id", "subuser_id", "proxy_asn", "proxy_country")
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
    *OPTIONAL_DIMENSIONS,
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
#: Rows counted at a time (their narrow form, ~60 bytes each, is what the counting holds).
CHUNK_ROWS = 4_000_000
#: Cells of one dimension finished at a time (joined to their segments' ids, sorted).
FINAL_CELLS = 2_000_000

_RAW = [d for d in DIMENSIONS if d != "proxy_net"]
_WEIGHED = ("n", "f", *PHASES)  # burst-weighted counts
_COUNTS = (*_WEIGHED, "by")  # and bytes, not weighted: a burst's bytes are all transferred
_UTC = pl.Datetime("us", "UTC")
#: A request's whole weight, in integer units: weights of bursts up to 16 (and most sizes
#: beyond) are exact, so the counts are integer sums, the same in any order on any engine.
_WHOLE = 720_720
_ALL_DIMS = (None, *_RAW, ERROR_REASON)
#: The counts of one dimension from any engine, before :func:`_assemble`.
_TEXT_CELL = {"b": pl.Int64, "value": pl.String, **dict.fromkeys(_COUNTS, pl.Int64)}
#: Keys pack a bucket (or a dimension) above a 32-bit value code.
_HIGH = 1 << 32


def slow_flags(slow_after: Thresholds) -> list[pl.Expr]:
    """One flag per phase (named like its count: ``s``, ``sh``, ``st``): slower than its threshold."""
    return [
        (pl.col(col).cast(pl.Float64) > slow_after[key]).fill_null(False).alias(key)
        if slow_after.get(key) is not None
        else pl.lit(False).alias(key)
        for key, col in PHASES.items()
    ]


def capped_bytes(ns: Any, slow_after: Thresholds) -> Any:
    """Bytes up to the reference's usual largest (key ``by``), as integers: one huge download is
    no surge, and integer sums are the same on every engine. *ns* is ``polars`` or ``narwhals``.
    """
    cap, col = slow_after.get("by"), ns.col("bytes")
    return (col if cap is None else col.clip(upper_bound=int(cap))).fill_null(0).cast(ns.Int64).alias("by")


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


def proxy_net(column: str = "proxy_address") -> pl.Expr:
    """The IPv4 /24 (``a.b.c.0/24``) of a proxy address column, null for other addresses."""
    proxy = pl.col(column).cast(pl.String)
    return (
        pl.when(proxy.str.contains(r"^\d+\.\d+\.\d+\.\d+$"))
        .then(proxy.str.replace(r"\.\d+$", ".0/24"))
        .alias("proxy_net")
    )


def with_derived(lf: pl.LazyFrame) -> pl.LazyFrame:
    """*lf* with the derived segment columns and null optional ones, so that every dimension's
    column exists and a segment filter works on any activity frame."""
    return lf.with_columns(proxy_net(), *_missing(lf.collect_schema().names(), pl))


def _missing(columns: Iterable[str], ns: Any) -> list[Any]:
    """Null columns for the :data:`OPTIONAL_DIMENSIONS` not in *columns* (*ns*: polars or narwhals);
    integers, the cheapest nulls any engine counts (no segment has a null value)."""
    return [ns.lit(None, dtype=ns.Int64).alias(d) for d in OPTIONAL_DIMENSIONS if d not in set(columns)]


def _key(column: str, dtype: pl.DataType) -> pl.Expr:
    """A 32-bit code per value of a narrow column: the categorical code, or the integer itself."""
    col = pl.col(column)
    if dtype.is_integer():
        return col.cast(pl.Int64).cast(pl.UInt32, strict=False).cast(pl.UInt64)
    return col.to_physical().cast(pl.UInt64)


def _narrow(lf: pl.LazyFrame, *, every: str | timedelta, tz: str, slow_after: Thresholds) -> pl.DataFrame:
    """The rows as integers: ``b`` (bucket start, epoch seconds), flags, and the segment columns.

    Text columns become categorical (:func:`_as_codes`): a value has the same code in every
    stretch of time, so the stretches' counts add up on integers.
    """
    seconds = time_bucket(every, tz, name="t").dt.convert_time_zone("UTC").dt.epoch("s")
    return lf.select(
        seconds.alias("b"),
        pl.col("timestamp").dt.epoch("us").alias("ts"),
        pl.col("error_reason").is_not_null().alias("failed"),
        *slow_flags(slow_after),
        capped_bytes(pl, slow_after),
        *_as_codes(lf.collect_schema(), (*_RAW, ERROR_REASON)),
    ).collect(engine="streaming")  # batch by batch: a scan's text columns never sit in memory whole


def _as_codes(schema: pl.Schema, columns: Iterable[str]) -> list[pl.Expr]:
    """*columns* with text as categorical: Polars' categories are global to the process (or an
    Enum's own), so a value's code is the same in every frame, with no pass to list the values."""
    return [pl.col(c).cast(pl.Categorical) if schema[c] == pl.String else pl.col(c) for c in columns]


def _texts(dtype: pl.DataType) -> pl.Series:
    """Each code's text, at the code's index, of a categorical or Enum *dtype*."""
    categories = dtype.categories  # type: ignore[attr-defined]
    return categories if isinstance(categories, pl.Series) else categories.to_series()


def _burst_weights(ts: pl.Series) -> pl.Series:
    """1 / (records sharing the timestamp), in units of 1 / :data:`_WHOLE`.

    Records sharing a timestamp are one burst from one client to one target: they succeed or
    fail together far more than independent requests do, so a burst counts as one trial (its
    rows weigh 1/size) and the tests stay honest about how much evidence there is. Activity is
    loaded in time order, so equal timestamps are neighbours and run lengths are enough.
    """
    values = ts.to_numpy()
    if len(values) and bool(np.all(values[1:] >= values[:-1])):
        run = np.cumsum(np.r_[True, values[1:] != values[:-1]]) - 1
        return pl.Series("w", _WHOLE // np.bincount(run)[run])
    return ts.to_frame("ts").select((_WHOLE // pl.len().over("ts")).cast(pl.Int64).alias("w")).to_series()


def _agg(narrow: pl.LazyFrame, column: str | None, dtype: pl.DataType | None) -> pl.LazyFrame:
    src = narrow.filter(pl.col("failed")) if column == ERROR_REASON else narrow
    key = pl.col("b").cast(pl.UInt64)
    if column is not None and dtype is not None:
        src = src.filter(pl.col(column).is_not_null())
        key = key * _HIGH + _key(column, dtype)
    return src.group_by(key.alias("key")).agg(pl.col("w").sum().alias("n"), pl.col("f", *PHASES, "by").sum())


def cells(
    lf: pl.LazyFrame,
    *,
    every: timedelta,
    tz: str,
    slow_after: Thresholds,
    engine: EngineFrame | None = None,
) -> pl.DataFrame:
    """Requests ``n``, failures ``f``, slow requests per phase (``s`` request, ``sh``
    handshake, ``st`` tunnel: see :data:`PHASES`) and bytes ``by`` per bucket ``t`` and segment.

    Counts are of bursts (see :func:`_burst_weights`): rounded sums of the row weights. Each
    segment has an integer id ``sid``. Rows of dimension ``error_reason`` count that code's
    failures in ``f`` and every request of the bucket in ``n`` (a code's share of all
    requests), with the slow counts null. Segments of fewer than :data:`MIN_KEPT_REQUESTS` are left out.
    When *lf* reads another *engine*'s frame, that engine counts (:func:`_engine_cells`).
    """
    block = _block(every)
    if engine is not None and block is not None:
        return _engine_cells(engine, block, every=every, tz=tz, slow_after=slow_after)
    lf = lf.with_columns(*_missing(lf.collect_schema().names(), pl))
    count = partial(_chunk_counts, lf, every=every, tz=tz, slow_after=slow_after)
    parts = stretches(lf, every=every, tz=tz)

    def counted(part: int, chunk: pl.Expr | None) -> dict[str | None, pl.DataFrame]:
        relay_step(f"incidents: part {part} of {len(parts)}")
        return count(chunk)

    counts = _summed(counted(i, chunk) for i, chunk in enumerate(parts, start=1))
    dtypes = lf.select(_as_codes(lf.collect_schema(), (*_RAW, ERROR_REASON))).collect_schema()
    return _assemble({d: _split(counts.pop(d), d, dtypes.get(d or "")) for d in _ALL_DIMS})


def stretches(lf: pl.LazyFrame, *, every: timedelta, tz: str) -> list[pl.Expr | None]:
    """Filters splitting *lf*'s rows into stretches of time of about :data:`CHUNK_ROWS` rows each
    (one None when they fit), so the narrow rows of only one stretch are in memory at a time.
    Stretches start at bucket starts: every bucket (and every burst, one timestamp) is counted in
    one stretch, so the stretches' cells are disjoint. Their row counts are estimated from the
    period's span (the rows and first and last times: a scan's metadata mostly), as if spread evenly.
    """
    ts = pl.col("timestamp")
    span = lf.select(pl.len(), ts.min().alias("lo"), ts.max().alias("hi")).collect(engine="streaming")
    rows, lo, hi = span.row(0)
    parts = -(-rows // CHUNK_ROWS)
    if parts <= 1 or lo is None or hi is None:
        return [None]
    at = pl.DataFrame({"timestamp": [lo + (hi - lo) * i / parts for i in range(1, parts)]})
    cuts = at.select(time_bucket(every, tz).dt.convert_time_zone("UTC"))["time"].unique().sort().to_list()
    edges = [None, *cuts, None]
    return [
        (ts >= a if a is not None else pl.lit(True)) & (ts < b if b is not None else pl.lit(True))
        for a, b in itertools.pairwise(edges)
    ]


def _chunk_counts(
    lf: pl.LazyFrame,
    chunk: pl.Expr | None,
    *,
    every: timedelta,
    tz: str,
    slow_after: Thresholds,
) -> dict[str | None, pl.DataFrame]:
    """The key-coded counts of every dimension from the rows *chunk* selects (all rows when None)."""
    rows = lf if chunk is None else lf.filter(chunk)
    narrow = _narrow(rows, every=every, tz=tz, slow_after=slow_after)
    w = _burst_weights(narrow["ts"])
    # Each flag as its weight (0 when unset): plain sums group faster than filtered ones.
    flags = {"f": "failed", **{k: k for k in PHASES}}
    weighted = [pl.when(pl.col(flag)).then(w).otherwise(0).alias(key) for key, flag in flags.items()]
    narrow = narrow.with_columns(w, *weighted).drop("ts")
    schema = narrow.schema
    frames = pl.collect_all([_agg(narrow.lazy(), d, None if d is None else schema[d]) for d in _ALL_DIMS])
    return dict(zip(_ALL_DIMS, frames, strict=True))


def _summed(parts: Iterable[dict[str | None, pl.DataFrame]]) -> dict[str | None, pl.DataFrame]:
    """The counts of several stretches as one (their buckets are disjoint: see :func:`stretches`)."""
    chunks = list(parts)
    return {d: pl.concat([c[d] for c in chunks], rechunk=False) for d in _ALL_DIMS}


def _engine_cells(
    engine: EngineFrame, block: int, *, every: timedelta, tz: str, slow_after: Thresholds
) -> pl.DataFrame:
    """:func:`cells` counted inside another engine (DuckDB, Spark...): only the cells leave it.

    The engine numbers each row's block of time (:func:`_block`, whole minutes from the epoch,
    which no time zone's offset splits) and joins a small calendar of blocks to bucket starts
    that Polars computed with :func:`time_bucket`, so the buckets are Polars' own in any zone.
    Burst weights are a window count over ``timestamp``, as in :func:`_burst_weights`.
    """
    missing = _missing(engine.nw.columns, nw)
    frame = engine.nw.with_columns(*missing) if missing else engine.nw
    rows = frame.with_columns(blk=_epoch_seconds(engine) // (block // 1_000_000))
    span = rows.select(nw.col("blk").min().alias("lo"), nw.col("blk").max().alias("hi"))
    lo, hi = span.collect(backend="polars").to_native().row(0)
    if lo is None:
        return _assemble({d: _coded(pl.DataFrame(schema=_TEXT_CELL)) for d in _ALL_DIMS})
    calendar = pl.select(blk=pl.int_range(lo, hi + 1, dtype=pl.Int64)).with_columns(
        timestamp=pl.from_epoch(pl.col("blk") * block, time_unit="us").dt.replace_time_zone("UTC")
    )
    calendar = calendar.select("blk", b=time_bucket(every, tz).dt.epoch("s"))
    weight = nw.lit(_WHOLE) // nw.len().over("timestamp")
    flags = [
        (nw.col(col).cast(nw.Float64) > slow_after[key]).fill_null(False).alias(key)
        if slow_after.get(key) is not None
        else nw.lit(False).alias(key)
        for key, col in PHASES.items()
    ]
    # One pass: the rows unpivoted into (dimension, value) pairs, so the window count and the
    # calendar join run once, not once per dimension. Error codes count failures only.
    marked = rows.select(
        "blk",
        weight.alias("w"),
        (~nw.col("error_reason").is_null()).alias("failed"),
        *flags,
        capped_bytes(nw, slow_after),
        *(nw.col(d).cast(nw.String) for d in (*_RAW, ERROR_REASON)),
    ).join(nw.from_native(to_engine(calendar, engine)), on="blk")
    sums = [
        nw.col("w").sum().alias("n"),
        *(nw.when(nw.col(k)).then(nw.col("w")).otherwise(0).sum().alias(k) for k in ("failed", *PHASES)),
        nw.col("by").sum(),
    ]
    account = _collect(marked.group_by("b").agg(*sums)).with_columns(value=pl.lit(ALL))
    pairs = marked.unpivot(
        [*_RAW, ERROR_REASON], index=["b", "w", "failed", *PHASES, "by"], variable_name="dimension"
    ).filter(~nw.col("value").is_null() & ((nw.col("dimension") != ERROR_REASON) | nw.col("failed")))
    counted = _collect(pairs.group_by("dimension", "b", "value").agg(*sums)).rename({"failed": "f"})
    parts: dict[str | None, pl.DataFrame] = {None: account.rename({"failed": "f"})}
    parts.update({d: counted.filter(pl.col("dimension") == d) for d in _ALL_DIMS if d})
    return _assemble({d: _coded(p) if d else (p, None) for d, p in parts.items()})


def _epoch_seconds(engine: EngineFrame) -> nw.Expr:
    """Each row's ``timestamp`` in whole seconds since the epoch, as the engine can say it."""
    if engine.nw.implementation is nw.Implementation.DUCKDB:
        epoch = nw.lit(datetime(1970, 1, 1, tzinfo=UTC))
        return (nw.col("timestamp") - epoch).dt.total_microseconds() // 1_000_000
    return nw.col("timestamp").cast(nw.Int64)  # Spark and SQL engines: a timestamp as an integer


def _block(every: timedelta) -> int | None:
    """Microseconds of the engine's time blocks: whole minutes dividing the bucket, at most 15
    (every zone's offset from UTC is a multiple of 15 minutes, so a block never straddles
    buckets); None for buckets of fractional minutes.
    """
    minutes = every // timedelta(minutes=1)
    return math.gcd(minutes, 15) * 60_000_000 if minutes and not every % timedelta(minutes=1) else None


def _collect(frame: nw.LazyFrame[Any]) -> pl.DataFrame:
    out: pl.DataFrame = frame.collect(backend="polars").to_native()
    return out


#: Cells whose values are codes (``b, code``, counts) and the codes' text (``code, value``).
Coded = tuple[pl.DataFrame, pl.DataFrame | None]


def _split(counts: pl.DataFrame, dimension: str | None, dtype: pl.DataType | None) -> Coded:
    """Key-coded counts as ``b, code``, counts, and each code's text (None for the account);
    *dtype* is the dimension's in the narrow rows (an integer's code is its value)."""
    if dimension is None or dtype is None:
        return counts.select(pl.col("key").cast(pl.Int64).alias("b"), *_COUNTS), None
    b, code = (pl.col("key") // _HIGH).cast(pl.Int64).alias("b"), (pl.col("key") % _HIGH).alias("code")
    split = counts.select(b, code, *_COUNTS)
    labels = split.select(pl.col("code").unique())
    if dtype.is_integer():
        return split, labels.with_columns(value=pl.col("code").cast(pl.Int64).cast(pl.String))
    return split, labels.with_columns(value=_texts(dtype).gather(labels["code"]))


def _coded(cells: pl.DataFrame) -> Coded:
    """Text cells ``b, value``, counts (another engine's, the /24s) coded like :func:`_split`'s."""
    values = cells["value"].drop_nulls().unique().sort()
    code = pl.col("value").cast(pl.Enum(values)).to_physical().cast(pl.UInt64).alias("code")
    labels = pl.DataFrame({"value": values}).with_row_index("code").cast({"code": pl.UInt64})
    return cells.drop_nulls("value").select("b", code, *_COUNTS), labels


def _assemble(parts: dict[str | None, Coded]) -> pl.DataFrame:
    """The cells from coded cells per dimension (:data:`Coded`; ``b``, bucket start in epoch seconds).

    *parts* holds the account (key None), every raw dimension and the error codes, from
    whichever engine counted them; the /24s are summed here from the proxies. Each dimension is
    turned into its final cells and dropped from *parts* in turn, so that the counts are held
    about once, not once per step; text is joined back by segment id, one row per segment.
    """
    every = parts.pop(None)[0].select("b", *_COUNTS)
    proxies, proxy_labels = parts["proxy_address"]
    assert proxy_labels is not None
    parts["proxy_net"] = _coded(_nets(proxies.join(proxy_labels, on="code").drop("code")))
    codes, code_labels = parts.pop(ERROR_REASON)
    # An error code's rows count its failures and every request of the bucket.
    codes = codes.drop("n", *PHASES, "by").join(every.select("b", "n"), on="b")
    codes = codes.with_columns(pl.lit(None, pl.Int64).alias(k) for k in (*PHASES, "by"))
    parts[ERROR_REASON] = codes, code_labels
    frames = [_final(every.with_columns(sid=pl.lit(1, pl.Int64), value=pl.lit(ALL)), ALL)]
    del every
    for rank, dim in enumerate((*DIMENSIONS, ERROR_REASON), start=1):
        cells, labels = parts.pop(dim)
        assert labels is not None
        seen = cells.group_by("code").agg(pl.col("n").sum(), pl.len().alias("cells"))
        if dim != ERROR_REASON:  # the weights are in units of _WHOLE: the rule is in requests
            seen = seen.filter(pl.col("n") >= MIN_KEPT_REQUESTS * _WHOLE)
        # The segment id: the dimension's rank in the high bits, the value's (text order) in the low.
        kept = labels.join(seen.select("code", "cells"), on="code").sort("value")
        kept = kept.with_columns(
            sid=rank * _HIGH + pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
            value=pl.col("value").cast(pl.Categorical),  # once per segment, not per cell
            piece=pl.col("cells").cum_sum() // FINAL_CELLS,
        )
        # A piece of segments at a time (in segment order, so the pieces stay sorted): the
        # copies a join and a sort make are of one piece, not of a dimension of ten million cells.
        for piece in kept.partition_by("piece", maintain_order=True, include_key=False):
            frames.append(_final(cells.join(piece.select("code", "sid", "value"), on="code"), dim))
        del cells
    # One chunk per piece: joining them into one would copy every cell once more.
    return pl.concat(frames, how="vertical_relaxed", rechunk=False)


def _final(cells: pl.DataFrame, dimension: str) -> pl.DataFrame:
    """One dimension's cells in their final form: counts rounded to whole bursts, text categorical,
    sorted by segment and time (the order the scan reads them in, so it never sorts them again).

    Categorical text: the cells are copied through every test, and codes are 8 bytes a row
    where names held as strings cost 50 or more.
    """
    return cells.select(
        pl.lit(dimension, pl.Categorical).alias("dimension"),
        pl.col("value").cast(pl.Categorical),
        pl.from_epoch("b", time_unit="s").dt.replace_time_zone("UTC").cast(_UTC).alias("t"),
        *[(pl.col(c) / _WHOLE).round().cast(pl.Int64) for c in _WEIGHED],
        pl.col("by").cast(pl.Int64),
        pl.col("sid").cast(pl.Int64),
    ).sort(_SEGMENT_TIME)


#: The order of a dimension's cells, segment then time, as one integer: the value's number times
#: the span in seconds, plus the cell's seconds from the first. Half the time of a sort on two
#: columns, and it cannot overflow before 2**32 values over ten years.
_SINCE_FIRST = (pl.col("t") - pl.col("t").min()).dt.total_seconds()
_SEGMENT_TIME = (pl.col("sid") % _HIGH) * (_SINCE_FIRST.max() + 1) + _SINCE_FIRST


def _nets(proxies: pl.DataFrame) -> pl.DataFrame:
    """The /24 cells, summed from the proxy cells (a subnet a provider rents together)."""
    return (
        proxies.with_columns(proxy_net("value").alias("value"))
        .drop_nulls("value")
        .group_by("b", "value")
        .agg(pl.col(*_COUNTS).sum())
    )
