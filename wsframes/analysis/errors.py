"""What fails, why, and what to do: the error taxonomy, error rates over time, top offenders.

Shares carry Wilson score intervals (:func:`wsframes.analysis.wilson_interval`), so a domain
with 2 failures in 3 requests is not ranked above one with 2,000 in 4,000 without a warning.
Categories and advice come from :data:`wsframes.schema.ERROR_CATALOGUE`; a code missing from it
is kept and labelled ``unknown``, never dropped.

>>> import polars as pl
>>> d = pl.DataFrame({"error_reason": [None, None, "no_proxies_allocated", "brand_new_code"]})
>>> error_taxonomy(d).select("error_reason", "category", "count", "share", "share_of_failures").rows()
[('brand_new_code', 'unknown', 1, 0.25, 0.5), ('no_proxies_allocated', 'proxy_list_outdated', 1, 0.25, 0.5)]
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from wsframes.analysis._frames import (
    ByLike,
    Frame,
    as_lazy,
    check_min_requests,
    clean_durations,
    failed_expr,
    fill_time_gaps,
    finish,
    group_keys,
    key_names,
    ranking_keys,
    require_columns,
    time_bucket,
    wilson_interval,
)
from wsframes.analysis._pushdown import engine_keys, error_counts
from wsframes.analysis.pool import held_quantile
from wsframes.errors import ConfigurationError
from wsframes.schema import CATEGORY_ADVICE, ERROR_CATALOGUE

__all__ = ["catalogue_frame", "error_rate_over_time", "error_taxonomy", "top_offenders"]

_OFFENDER_SORTS = ("failed", "error_rate", "ci_low", "requests", "bytes", "p95")


def catalogue_frame() -> pl.DataFrame:
    """The error catalogue as a frame: ``error_reason, category, type, how_to_fix``."""
    codes = sorted(ERROR_CATALOGUE)
    return pl.DataFrame(
        {
            "error_reason": codes,
            "category": [ERROR_CATALOGUE[c].category for c in codes],
            "type": [ERROR_CATALOGUE[c].type for c in codes],
            "how_to_fix": [CATEGORY_ADVICE[ERROR_CATALOGUE[c].category] for c in codes],
        },
        schema={"error_reason": pl.String, "category": pl.String, "type": pl.String, "how_to_fix": pl.String},
    )


def _label(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Attach category, type and advice; unknown codes get the ``unknown`` entry."""
    return lf.join(catalogue_frame().lazy(), on="error_reason", how="left").with_columns(
        pl.col("category").fill_null("unknown"),
        pl.col("type").fill_null("unknown"),
        pl.col("how_to_fix").fill_null(CATEGORY_ADVICE["unknown"]),
    )


def _per_code(lf: pl.LazyFrame, keys: list[pl.Expr], names: list[str], api_fix: pl.Expr) -> pl.LazyFrame:
    """Per group and failed code: ``count``, ``api_how_to_fix`` and the group's ``_total``."""
    base = lf.select(*keys, "error_reason", api_fix.alias("api_how_to_fix"))
    # Count codes over the failed rows only (a few per cent of the data) and totals separately:
    # much cheaper than grouping every row by (group, code).
    per_code = (
        base.filter(pl.col("error_reason").is_not_null())
        .group_by(*names, "error_reason")
        .agg(pl.len().cast(pl.UInt32).alias("count"), pl.col("api_how_to_fix").drop_nulls().first())
    )
    if names:
        totals = base.group_by(names).agg(pl.len().alias("_total"))
        return per_code.join(totals, on=names, how="left", nulls_equal=True)
    return per_code.join(base.select(pl.len().alias("_total")), how="cross")


def error_taxonomy(df: Frame, *, by: ByLike = None, confidence: float = 0.95) -> Frame:
    """One row per group and ``error_reason``: what failed, how often, and what to do.

    Columns: ``[by...], error_reason, category, type, count, share, ci_low, ci_high,
    share_of_failures, how_to_fix, api_how_to_fix``. Shares are fractions (0.25 = 25 %) and
    mean the same whatever *by* is: ``share`` is ``count`` over *all* requests of the group
    (successes included), with its Wilson interval ``ci_low``/``ci_high`` at *confidence*;
    ``share_of_failures`` is ``count`` over the group's *failed* requests (the error mix; it sums
    to 1 per group). With ``by="outcome"`` the group is already the failed requests, so there
    the two coincide. ``type`` is Webshare's
    ``configuration``/``connection`` split; ``api_how_to_fix`` is the API's own advice text
    (null if the frame lacks ``error_reason_how_to_fix``). Successful requests get no row.
    Rows are sorted by group, then count (largest first), then code.

    Parameters
    ----------
    df : activity frame: Polars ``DataFrame`` or ``LazyFrame``, or pandas; the result is the same kind.
    by : column names, expressions or ``"outcome"``; group key columns lead the result.
    confidence : level of the Wilson intervals (default 0.95).
    """
    lf, kind = as_lazy(df, func="error_taxonomy")
    schema = require_columns(lf, ["error_reason"], func="error_taxonomy")
    keys = group_keys(by, func="error_taxonomy")
    names = key_names(lf, keys)
    if "error_reason" in names:
        raise ConfigurationError(
            "error_taxonomy() already has one row per error_reason; group by something else, "
            "e.g. by='domain' or by='outcome'."
        )
    api_fix = (
        pl.col("error_reason_how_to_fix") if "error_reason_how_to_fix" in schema else pl.lit(None, pl.String)
    )
    pushed = engine_keys(by) if kind.engine is not None else None
    if kind.engine is not None and pushed is not None:  # DuckDB, Spark: counted inside the engine
        per_code = error_counts(kind.engine, pushed, names, "error_reason_how_to_fix" in schema)
    else:
        per_code = _per_code(lf, keys, names, api_fix)
    failures = pl.col("count").sum().over(names) if names else pl.col("count").sum()
    low, high = wilson_interval("count", "_total", confidence=confidence)
    out = (
        per_code.with_columns(
            pl.col("error_reason").cast(pl.String),
            pl.col("api_how_to_fix").cast(pl.String),
            (pl.col("count") / pl.col("_total")).alias("share"),
            low,
            high,
            (pl.col("count") / failures).alias("share_of_failures"),
        )
        .pipe(_label)
        .sort(
            [*names, "count", "error_reason"],
            descending=[False] * len(names) + [True, False],
            nulls_last=True,
        )
        .select(
            *names,
            "error_reason",
            "category",
            "type",
            "count",
            "share",
            "ci_low",
            "ci_high",
            "share_of_failures",
            "how_to_fix",
            "api_how_to_fix",
        )
    )
    return finish(out, kind)


def _rate_columns(confidence: float) -> list[pl.Expr]:
    low, high = wilson_interval("failed", "requests", confidence=confidence)
    return [(pl.col("failed") / pl.col("requests")).alias("error_rate"), low, high]


def error_rate_over_time(
    df: Frame,
    *,
    every: str | timedelta = "1h",
    by: ByLike = None,
    tz: str = "UTC",
    confidence: float = 0.95,
    fill_gaps: bool = False,
) -> Frame:
    """Failed share per time bucket: ``time, [by...], requests, failed, error_rate, ci_low, ci_high``.

    ``time`` is the bucket start in *tz*. Buckets without requests are absent, or with
    ``fill_gaps=True`` listed with zero requests and a null rate. Sorted by time, then group.

    Parameters
    ----------
    df : activity frame: Polars ``DataFrame`` or ``LazyFrame``, or pandas; the result is the same kind.
    every : bucket width, a Polars duration (``"15m"``, ``"1h"``, ``"1d"``) or a timedelta.
    by : column names, expressions or ``"outcome"``; group key columns lead the result.
    tz : IANA time zone for bucketing and display (buckets are truncated in local time).
    confidence : level of the Wilson intervals (default 0.95).
    fill_gaps : list empty buckets between the first and the last (rate null).
    """
    lf, kind = as_lazy(df, func="error_rate_over_time")
    require_columns(lf, ["timestamp", "error_reason"], func="error_rate_over_time")
    keys = [time_bucket(every, tz), *group_keys(by, func="error_rate_over_time")]
    names = key_names(lf, keys)
    out = (
        lf.group_by(keys)
        .agg(pl.len().cast(pl.UInt32).alias("requests"), failed_expr().sum().alias("failed"))
        .with_columns(_rate_columns(confidence))
        .sort(names, nulls_last=True)
    )
    if fill_gaps:
        out = fill_time_gaps(out, every, names[1:], ["requests", "failed"])
    return finish(out, kind)


def top_offenders(
    df: Frame,
    *,
    by: ByLike = None,
    n: int | None = 20,
    sort_by: str = "failed",
    min_requests: int = 1,
    metric: str = "request_duration",
    confidence: float = 0.95,
) -> Frame:
    """The values of *by* (domain, hostname, proxy_address, client_address, port...) that fail most.

    Columns: ``<by...>, requests, failed, error_rate, ci_low, ci_high, bytes, p95`` (p95 of
    *metric* over successful requests, seconds, null where fewer than 200 hold it). Values with
    fewer than *min_requests* requests are left out; the rest are sorted by *sort_by* (largest
    first; ``"ci_low"`` ranks by the interval's conservative end) and cut to the first *n*
    (``None`` keeps all). A null value (e.g. no domain) is its own row.

    This ranks; :func:`~wsframes.analysis.pool.pool_health` judges: it grades groups of the pool
    against the pool (failures and speed), with these columns meaning the same.

    Parameters
    ----------
    df : activity frame: Polars ``DataFrame`` or ``LazyFrame``, or pandas; the result is the same kind.
    by : what to rank, default ``"domain"``: column names (``hostname``, ``proxy_address``,
        ``client_address``, ``port``...), expressions or ``"outcome"``; the key columns lead the result.
    n : rows to keep (``None``: all).
    sort_by : ``failed`` (default), ``error_rate``, ``ci_low``, ``requests``, ``bytes`` or ``p95``.
    min_requests : leave out values with fewer requests (their rates are noise).
    metric : duration whose p95 is attached (``handshake_duration``, ``tunnel_duration``...).
    confidence : level of the Wilson intervals (default 0.95).
    """
    lf, kind = as_lazy(df, func="top_offenders")
    require_columns(lf, ["error_reason", "bytes", metric], func="top_offenders")
    keys = ranking_keys(by, default="domain", func="top_offenders")
    names = key_names(lf, keys)
    if sort_by not in _OFFENDER_SORTS:
        raise ConfigurationError(f"sort_by={sort_by!r}: use one of {', '.join(_OFFENDER_SORTS)}.")
    if n is not None and (not isinstance(n, int) or n < 1):
        raise ConfigurationError(f"n={n!r} must be a positive number of rows or None for all.")
    check_min_requests(min_requests)
    stats = (
        clean_durations(lf, [metric])
        .group_by(keys)
        .agg(
            pl.len().cast(pl.UInt32).alias("requests"),
            failed_expr().sum().alias("failed"),
            pl.col("bytes").sum().alias("bytes"),
            held_quantile(metric, 0.95),
        )
        .with_columns(_rate_columns(confidence))
        .select(*names, "requests", "failed", "error_rate", "ci_low", "ci_high", "bytes", "p95")
    )
    out = stats.filter(pl.col("requests") >= min_requests).sort(
        [sort_by, "requests", *names], descending=[True, True] + [False] * len(names), nulls_last=True
    )
    return finish(out.head(n) if n is not None else out, kind)
