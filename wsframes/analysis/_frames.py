"""Shared input handling for the analysis helpers: frame kinds, ``by=``, time buckets, intervals.

Every public helper accepts a Polars ``DataFrame`` or ``LazyFrame``, a pandas ``DataFrame``, or a
lazy frame of any engine Narwhals supports (a DuckDB relation, a PySpark DataFrame...; see
:mod:`wsframes.analysis._engines`) and returns the same kind. Internally everything is a Polars
``LazyFrame``; :func:`as_lazy` records the caller's kind and :func:`finish` converts back, so each
helper is written once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import timedelta
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeAlias, TypeVar, cast

import polars as pl

from wsframes.analysis._engines import EngineFrame, engine_frame
from wsframes.errors import ConfigurationError
from wsframes.timeutil import as_utc, check_tz

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyspark.sql

FrameLike: TypeAlias = Any  # pl.DataFrame | pl.LazyFrame | pandas.DataFrame (pandas is imported lazily)
#: The kind of frame a helper was given, which is the kind it returns: type checkers see that a
#: Polars DataFrame gives a DataFrame, a LazyFrame a LazyFrame, pandas pandas, DuckDB a relation.
Frame = TypeVar(
    "Frame",
    bound="pl.DataFrame | pl.LazyFrame | pd.DataFrame | duckdb.DuckDBPyRelation | pyspark.sql.DataFrame",
)
ByLike: TypeAlias = str | pl.Expr | Sequence[str | pl.Expr] | None

#: Name of the derived column that ``by="outcome"`` produces.
OUTCOME = "outcome"


class Kind(Generic[Frame]):
    """Which kind of frame the caller gave us, and how to turn a result back into that kind.

    Three instances: ``Kind.EAGER``, ``Kind.LAZY``, ``Kind.PANDAS`` (compare with ``is``), plus one
    per call for a frame of another engine, whose ``engine`` is that frame (helpers that push
    their aggregation down into the engine use it). Generic, so that ``finish(lf, kind)`` is typed
    as the caller's kind of frame.
    """

    EAGER: ClassVar[Kind[pl.DataFrame]]
    LAZY: ClassVar[Kind[pl.LazyFrame]]
    PANDAS: ClassVar[Kind[pd.DataFrame]]

    def __init__(self, name: str, convert: Callable[[pl.LazyFrame], Frame]) -> None:
        self.name = name
        self.convert: Callable[[pl.LazyFrame], Frame] = convert
        #: The caller's frame when it belongs to another engine (DuckDB, Spark...), else None.
        self.engine: EngineFrame | None = None

    def __repr__(self) -> str:
        return f"Kind.{self.name.upper()}"


Kind.EAGER = Kind("eager", lambda lf: lf.collect())
Kind.LAZY = Kind("lazy", lambda lf: lf)
Kind.PANDAS = Kind("pandas", lambda lf: to_pandas(lf.collect()))


def as_lazy(df: Frame, *, func: str) -> tuple[pl.LazyFrame, Kind[Frame]]:
    """Return *df* as a LazyFrame plus the kind to convert the result back to.

    ``timestamp`` is made UTC by :func:`wsframes.timeutil.as_utc` (naive taken as UTC, text from
    a CSV parsed); an eager frame whose text does not parse is refused here, naming a sample.
    """
    # The kind is chosen at run time; its type is the caller's (Kind[Frame]), hence Any here.
    kind: Any
    if isinstance(df, pl.LazyFrame):
        kind = Kind.LAZY
        return as_utc(df, what=f"{func}()"), kind
    if isinstance(df, pl.DataFrame):
        kind = Kind.EAGER
        return as_utc(df, what=f"{func}()").lazy(), kind
    module = type(df).__module__
    if module.startswith("pandas") and type(df).__name__ == "DataFrame":
        try:
            frame = pl.from_pandas(cast("pd.DataFrame", df))
        except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"{func}() could not read this pandas DataFrame: {_first_line(exc)}."
            ) from None
        kind = Kind.PANDAS
        return as_utc(frame, what=f"{func}()").lazy(), kind
    engine = engine_frame(df)
    if engine is not None:
        kind = Kind(engine.name, engine.convert)
        kind.engine = engine
        return as_utc(engine.polars(), what=f"{func}()"), kind
    raise ConfigurationError(
        f"{func}() needs a Polars DataFrame or LazyFrame or a pandas DataFrame of activity "
        f"(e.g. from wsframes.load_activity), or a lazy frame of another engine (a DuckDB relation, "
        f"a PySpark DataFrame...), not {type(df).__name__}."
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def finish(lf: pl.LazyFrame, kind: Kind[Frame]) -> Frame:
    """Convert a result back to the caller's kind (lazy in, lazy out).

    An engine error (a column of the wrong dtype, say) becomes a :class:`ConfigurationError`
    with the engine's first line, never a Polars traceback.
    """
    if kind is Kind.LAZY:
        return kind.convert(lf)
    try:
        # Another engine's rows arrive as a stream of batches: the streaming engine keeps
        # memory bounded by what the helper holds, not by the table.
        out = lf.collect(engine="streaming" if kind.engine is not None else "auto")
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise ConfigurationError(
            f"the frame could not be analysed ({type(exc).__name__}: {_first_line(exc)}); check that "
            "its columns have the activity schema's dtypes (wsframes.schema.ACTIVITY_SCHEMA)."
        ) from None
    return kind.convert(out.lazy())


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """A result as pandas with nullable dtypes (``Int64``, ``Float64``, ``string``, ``<NA>``).

    The same conversion as :func:`wsframes.to_pandas`, so a helper's pandas output never mixes
    NumPy ``NaN`` with ``<NA>``.
    """
    from wsframes.frames import to_pandas as convert

    return convert(frame)


def require_columns(lf: pl.LazyFrame, columns: Sequence[str], *, func: str) -> pl.Schema:
    """Raise a ConfigurationError naming every missing column; return the frame's schema."""
    schema = lf.collect_schema()
    missing = [c for c in columns if c not in schema]
    if missing:
        raise ConfigurationError(
            f"{func}() needs the column(s) {', '.join(map(repr, missing))}, which the frame lacks "
            f"(it has {', '.join(schema.names()) or 'no columns'}). Pass a frame with the activity "
            "schema (wsframes.schema.ACTIVITY_SCHEMA) or choose other columns."
        )
    _check_numbers(schema, columns, func=func)
    return schema


def _check_numbers(schema: pl.Schema, columns: Sequence[str], *, func: str) -> None:
    """Activity columns that hold numbers must hold numbers: say so before Polars fails on them."""
    from wsframes.schema import ACTIVITY_SCHEMA

    wrong = [
        f"{c!r} is {schema[c]}"
        for c in columns
        if c in ACTIVITY_SCHEMA
        and ACTIVITY_SCHEMA[c].is_numeric()
        and not (schema[c].is_numeric() or isinstance(schema[c], pl.Null))
    ]
    if wrong:
        raise ConfigurationError(
            f"{func}() needs numbers, but {', '.join(wrong)}; cast to the activity schema's dtypes "
            "(wsframes.schema.ACTIVITY_SCHEMA) first."
        )


def clean_durations(lf: pl.LazyFrame, metrics: Sequence[str]) -> pl.LazyFrame:
    """Cast duration columns to Float64 and turn NaN into null, once, before any grouping.

    Doing this inside a ``group_by`` aggregation would run it per group, several times slower.
    """
    return lf.with_columns(pl.col(m).cast(pl.Float64).fill_nan(None) for m in dict.fromkeys(metrics))


def outcome_expr() -> pl.Expr:
    """``"success"`` where ``error_reason`` is null, else ``"failed"``."""
    return (
        pl.when(pl.col("error_reason").is_null())
        .then(pl.lit("success"))
        .otherwise(pl.lit("failed"))
        .alias(OUTCOME)
    )


def failed_expr() -> pl.Expr:
    """1 for a failed request, 0 for a success (sums to the failure count)."""
    return pl.col("error_reason").is_not_null().cast(pl.UInt32)


def group_keys(by: ByLike, *, func: str) -> list[pl.Expr]:
    """Turn ``by=`` (names, expressions or ``"outcome"``) into a list of named expressions."""
    if by is None:
        return []
    items: Sequence[str | pl.Expr] = [by] if isinstance(by, str | pl.Expr) else by
    keys: list[pl.Expr] = []
    for item in items:
        if isinstance(item, pl.Expr):
            keys.append(item)
        elif item == OUTCOME:
            keys.append(outcome_expr())
        elif isinstance(item, str):
            keys.append(pl.col(item))
        else:
            raise ConfigurationError(
                f"{func}(by=...) takes column names, Polars expressions or 'outcome', "
                f"not {type(item).__name__}."
            )
    return keys


def ranking_keys(by: ByLike, *, default: str, func: str) -> list[pl.Expr]:
    """``by=`` of a ranking helper (always at least one key; *default* when none is given)."""
    keys = group_keys(default if by is None else by, func=func)
    if not keys:
        raise ConfigurationError(f"{func}(by=...) needs at least one column name or expression.")
    return keys


def key_names(lf: pl.LazyFrame, keys: Sequence[pl.Expr]) -> list[str]:
    """Output names of the group keys (checks that their columns exist)."""
    if not keys:
        return []
    try:
        return lf.select(keys).collect_schema().names()
    except pl.exceptions.ColumnNotFoundError as exc:
        raise ConfigurationError(
            f"by= names a column the frame lacks ({exc}). Use activity columns such as 'domain', "
            "'proxy_address' or the derived 'outcome'."
        ) from None



def check_every(every: str | timedelta) -> str | timedelta:
    """Validate a bucket width such as ``"1h"``, ``"15m"``, ``"1d"`` or a timedelta."""
    if isinstance(every, timedelta):
        if every <= timedelta(0):
            raise ConfigurationError(f"every={every!r} must be a positive duration.")
        return every
    if not isinstance(every, str):
        raise ConfigurationError(f"every= must be a duration such as '1h' or a timedelta, not {every!r}.")
    base = pl.datetime(2026, 1, 1)
    try:
        pl.select(base.dt.truncate(every))
        later = pl.select(base.dt.offset_by(every) > base).item()
    except Exception:
        raise ConfigurationError(
            f"every={every!r} is not a Polars duration; write e.g. '15m', '1h', '1d' or '1w'."
        ) from None
    if not later:  # "0h" parses, then fails deep in Polars with "interval must be positive"
        raise ConfigurationError(f"every={every!r} must be a positive duration, e.g. '15m', '1h' or '1d'.")
    return every


def time_bucket(every: str | timedelta, tz: str, *, name: str = "time") -> pl.Expr:
    """Start of the ``every``-wide bucket holding each timestamp, in time zone *tz*.

    Truncation happens in local time, so ``every="1d"`` buckets start at local midnight.
    """
    local = pl.col("timestamp").dt.convert_time_zone(check_tz(tz).key)
    return local.dt.truncate(check_every(every)).alias(name)


def fill_time_gaps(
    lf: pl.LazyFrame, every: str | timedelta, groups: Sequence[str], zeros: Sequence[str]
) -> pl.LazyFrame:
    """Add the missing buckets between the first and last ``time``, with *zeros* set to 0.

    Runs on the (small) aggregated frame when it is collected, so lazy stays lazy. Within each
    group of *groups*, every bucket of the overall range is present. Other columns are null.
    """
    schema = lf.collect_schema()

    def fill(frame: pl.DataFrame) -> pl.DataFrame:
        if frame.is_empty():
            return frame
        span = pl.datetime_range(pl.col("time").min(), pl.col("time").max(), interval=every)
        full = frame.select(span.cast(schema["time"]).alias("time"))
        if groups:
            full = full.join(frame.select(groups).unique(), how="cross")
        return (
            full.join(frame, on=["time", *groups], how="left", nulls_equal=True)
            .with_columns(pl.col(zeros).fill_null(0))
            .select(schema.names())
            .sort(["time", *groups], nulls_last=True)
        )

    return lf.map_batches(fill, schema=schema)


def z_value(confidence: float) -> float:
    """Two-sided normal critical value for *confidence* (0.95 -> 1.959964...)."""
    if not 0 < confidence < 1:
        raise ConfigurationError(f"confidence={confidence!r} must be strictly between 0 and 1, e.g. 0.95.")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(
    successes: str | pl.Expr, total: str | pl.Expr, *, confidence: float = 0.95
) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval (Wilson 1927) for the proportion ``successes / total``.

    Returns ``(low, high)`` expressions, null where ``total`` is 0. Unlike the normal
    approximation it stays inside [0, 1] and behaves at 0 and at ``total``.

    >>> lo, hi = wilson_interval(pl.lit(81), pl.lit(263))
    >>> [round(v, 4) for v in pl.select(lo, hi.alias("hi")).row(0)]
    [0.2553, 0.3662]
    """
    x = pl.col(successes) if isinstance(successes, str) else successes
    n = pl.col(total) if isinstance(total, str) else total
    z = z_value(confidence)
    n_f = n.cast(pl.Float64)
    p = x.cast(pl.Float64) / n_f
    denom = 1 + z * z / n_f
    centre = (p + z * z / (2 * n_f)) / denom
    half = z * (p * (1 - p) / n_f + z * z / (4 * n_f * n_f)).sqrt() / denom
    valid = n_f > 0
    # At x = 0 (x = n) the low (high) end is exactly 0 (1); say so rather than leave rounding dust.
    low = pl.when(~valid).then(None).when(x == 0).then(0.0).otherwise((centre - half).clip(0.0, 1.0))
    high = pl.when(~valid).then(None).when(x == n).then(1.0).otherwise((centre + half).clip(0.0, 1.0))
    return low.alias("ci_low"), high.alias("ci_high")


def quantile_name(q: float) -> str:
    """Column name for quantile *q*: 0.5 -> ``p50``, 0.999 -> ``p99.9``, 1.0 -> ``p100``."""
    return f"p{round(q * 100, 6):g}"


def check_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    """Validate quantiles: a non-empty sequence of distinct numbers in [0, 1]."""
    qs = tuple(float(q) for q in quantiles)
    if not qs or any(not (0.0 <= q <= 1.0) or math.isnan(q) for q in qs):
        raise ConfigurationError(
            f"quantiles={quantiles!r} must be numbers between 0 and 1, e.g. (0.5, 0.95, 0.99)."
        )
    if len({quantile_name(q) for q in qs}) != len(qs):
        raise ConfigurationError(f"quantiles={quantiles!r} contains duplicates.")
    return qs


def seconds(value: float | timedelta, *, name: str) -> float:
    """A latency threshold in seconds, from a number of seconds or a timedelta; it must be positive.

    Zero is refused too: no request takes no time, so "within 0 s" is a typo, not an objective
    (and Apdex's tolerating band ``(T, 4T]`` would be empty).
    """
    out = value.total_seconds() if isinstance(value, timedelta) else value
    if not isinstance(out, int | float) or isinstance(out, bool) or not math.isfinite(out) or out <= 0:
        raise ConfigurationError(
            f"{name}={value!r} must be a positive number of seconds or a timedelta, e.g. 0.25 for 250 ms."
        )
    return float(out)


def check_min_requests(min_requests: int) -> None:
    """Validate a minimum volume: a whole number of requests, at least 1."""
    if isinstance(min_requests, bool) or not isinstance(min_requests, int) or min_requests < 1:
        raise ConfigurationError(f"min_requests={min_requests!r} must be a whole number of at least 1.")
