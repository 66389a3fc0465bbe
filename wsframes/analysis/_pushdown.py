"""The heavy part of the core summaries, run inside another engine through Narwhals.

For a DuckDB relation or a Spark DataFrame, :func:`latency_wide`, :func:`error_counts` and
:func:`traffic_minutes` do the work that scales with the rows (exact quantiles, counts and sums
per group) in that engine with ``group_by().agg()``; only the aggregated result, a few rows per
group, is collected into Polars, where the helper's one definition finishes it. Exact quantiles
use linear interpolation everywhere: Narwhals maps ``quantile(q, "linear")`` to DuckDB's
``quantile_cont`` and Spark's ``percentile``, the same definition as NumPy's default and Polars'
``"linear"``, so the numbers agree to floating-point rounding.

Each function returns None when the request cannot be pushed down (``by=`` holds a Polars
expression, say); the caller then streams the rows into Polars instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import narwhals as nw
import polars as pl

from wsframes.analysis._engines import EngineFrame, _quoted

__all__ = ["engine_keys", "error_counts", "latency_wide", "traffic_minutes"]

_OUTCOME = "outcome"


def engine_keys(by: Any) -> list[nw.Expr] | None:
    """``by=`` as Narwhals expressions; None if it holds anything but column names and ``"outcome"``."""
    items: Sequence[Any] = [] if by is None else [by] if isinstance(by, str | pl.Expr) else by
    keys: list[nw.Expr] = []
    for item in items:
        if not isinstance(item, str):
            return None
        if item == _OUTCOME:
            failed = nw.col("error_reason").is_null()
            keys.append(nw.when(failed).then(nw.lit("success")).otherwise(nw.lit("failed")).alias(_OUTCOME))
        else:
            keys.append(nw.col(item))
    return keys


def _collect(frame: nw.LazyFrame[Any]) -> pl.LazyFrame:
    out: pl.DataFrame = frame.collect(backend="polars").to_native()
    return out.lazy()


def latency_wide(
    engine: EngineFrame,
    keys: list[nw.Expr],
    names: list[str],
    metrics: list[str],
    qs: Sequence[float],
    *,
    fast: bool = True,
) -> pl.LazyFrame:
    """Per group: ``"{i}:count"``, ``"{i}:mean"``, ``"{i}:max"``, ``"{i}:p50"``... (NaN is missing).

    The portable definition is Narwhals ``group_by().agg()``; ``fast`` lets DuckDB take its own
    path (:func:`_duckdb_latency`), which a test checks against the portable one.
    """
    from wsframes.analysis._frames import quantile_name

    if fast and engine.nw.implementation is nw.Implementation.DUCKDB:
        return _duckdb_latency(engine, names, metrics, qs)
    values = [
        nw.when(~nw.col(m).cast(nw.Float64).is_nan()).then(nw.col(m).cast(nw.Float64)).alias(f"_m{i}")
        for i, m in enumerate(metrics)
    ]
    frame = engine.nw.select(*keys, *values)
    aggs: list[nw.Expr] = []
    final: list[str] = []
    for i in range(len(metrics)):
        v = nw.col(f"_m{i}")
        aggs += [v.count(), v.mean(), v.max(), *(v.quantile(q, interpolation="linear") for q in qs)]
        final += [f"{i}:count", f"{i}:mean", f"{i}:max", *(f"{i}:{quantile_name(q)}" for q in qs)]
    # Plain aliases inside the engine: Spark reads "0:p99.9" as a field of a struct.
    aggs = [a.alias(f"_a{k}") for k, a in enumerate(aggs)]
    if names:
        wide = _collect(frame.group_by(*names).agg(*aggs))
    else:  # no rows in, no rows out (as the Polars path)
        wide = _collect(frame.select(*aggs, nw.len().alias("_rows")))
        wide = wide.filter(pl.col("_rows") > 0).drop("_rows")
    wide = wide.rename({f"_a{k}": name for k, name in enumerate(final)})
    return wide.with_columns(pl.col(f"{i}:count").cast(pl.UInt32) for i in range(len(metrics)))


def _duckdb_latency(
    engine: EngineFrame, names: list[str], metrics: list[str], qs: Sequence[float]
) -> pl.LazyFrame:
    """The DuckDB fast path: one ``quantile_cont(x, [q1, q2...])`` per metric.

    Narwhals writes one ``quantile_cont`` per quantile, and DuckDB orders the group's values for
    each (five times the work for five quantiles); the list form orders them once. Same numbers.
    """
    from wsframes.analysis._frames import quantile_name

    keys = {
        n: "case when error_reason is null then 'success' else 'failed' end" if n == _OUTCOME else _quoted(n)
        for n in names
    }
    qlist = "[" + ", ".join(repr(float(q)) for q in qs) + "]"
    stats = []
    for i, m in enumerate(metrics):
        v = f"(case when isnan({_quoted(m)}::double) then null else {_quoted(m)}::double end)"
        stats += [f"count({v}) as c{i}", f"avg({v}) as a{i}", f"max({v}) as x{i}"]
        stats.append(f"quantile_cont({v}, {qlist}) as q{i}")
    select = ", ".join([*(f"{sql} as {_quoted(n)}" for n, sql in keys.items()), *stats, "count(*) as _rows"])
    group = ", ".join(keys.values())
    with engine._lock:
        rel = engine.native.aggregate(select, group) if names else engine.native.aggregate(select)
        table = rel.to_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    wide = frame.lazy().filter(pl.col("_rows") > 0)  # ungrouped: no rows in, no rows out
    return wide.select(
        *names,
        *(
            e
            for i in range(len(metrics))
            for e in (
                pl.col(f"c{i}").cast(pl.UInt32).alias(f"{i}:count"),
                pl.col(f"a{i}").alias(f"{i}:mean"),
                pl.col(f"x{i}").alias(f"{i}:max"),
                *(pl.col(f"q{i}").list.get(j).alias(f"{i}:{quantile_name(q)}") for j, q in enumerate(qs)),
            )
        ),
    )


def error_counts(engine: EngineFrame, keys: list[nw.Expr], names: list[str], api_fix: bool) -> pl.LazyFrame:
    """Per group and failed code: ``count``, ``api_how_to_fix`` and the group's ``_total`` requests."""
    fix = nw.col("error_reason_how_to_fix") if api_fix else nw.lit(None, nw.String)
    frame = engine.nw.select(*keys, nw.col("error_reason"), fix.alias("api_how_to_fix"))
    per_code = _collect(
        frame.filter(~nw.col("error_reason").is_null())
        .group_by(*names, "error_reason")
        # The API gives one advice text per code; max() is any non-null one, on every engine.
        .agg(nw.len().alias("count"), nw.col("api_how_to_fix").max())
    ).with_columns(pl.col("count").cast(pl.UInt32), pl.col("api_how_to_fix").cast(pl.String))
    if names:
        totals = _collect(frame.group_by(*names).agg(nw.len().alias("_total")))
        return per_code.join(totals, on=names, how="left", nulls_equal=True)
    total = _collect(frame.select(nw.len().alias("_total")))
    return per_code.join(total, how="cross")


def whole_minutes(every: str | timedelta) -> bool:
    """True when buckets of width *every* are made of whole minutes (so minute counts add up)."""
    if isinstance(every, timedelta):
        return every % timedelta(minutes=1) == timedelta(0)
    base = pl.datetime(2026, 1, 1)
    width = pl.select(base.dt.offset_by(every) - base).item()
    return isinstance(width, timedelta) and width % timedelta(minutes=1) == timedelta(0)


def traffic_minutes(engine: EngineFrame, keys: list[nw.Expr], names: list[str]) -> pl.LazyFrame:
    """Requests, failures and bytes per UTC minute and group: ``timestamp`` is the minute's start.

    Every time zone in use today is a whole number of minutes from UTC, so any bucket of whole
    minutes in any zone is a sum of these rows, whatever ``every`` and ``tz`` the caller asks for.
    """
    failed = nw.when(nw.col("error_reason").is_null()).then(nw.lit(0)).otherwise(nw.lit(1))
    frame = engine.nw.select(
        *keys,
        nw.col("timestamp").dt.truncate("1m").alias("timestamp"),
        failed.alias("_failed"),
        nw.col("bytes"),
    )
    minutes = _collect(
        frame.group_by("timestamp", *names).agg(
            nw.len().alias("_requests"), nw.col("_failed").sum(), nw.col("bytes").sum()
        )
    )
    dtype = minutes.collect_schema()["timestamp"]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        # Spark hands timestamps back in its session time zone without saying so; set it to UTC.
        minutes = minutes.with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))
    return minutes
