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

from collections.abc import Sequence
from datetime import timedelta

import polars as pl

from wsframes.analysis._frames import (
    ByLike,
    Frame,
    Kind,
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
from wsframes.analysis._quantile import SEPARATE_SCANS
from wsframes.analysis.pool import binomial_tail, held_quantile, held_quantiles_scanned, subnets
from wsframes.errors import ConfigurationError
from wsframes.schema import CATEGORY_ADVICE, ERROR_CATALOGUE

__all__ = [
    "STANDING_DIMENSIONS",
    "catalogue_frame",
    "error_rate_over_time",
    "error_taxonomy",
    "standing_problems",
    "top_offenders",
]

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
    aggs = [pl.len().cast(pl.UInt32).alias("requests"), failed_expr().sum().alias("failed"),
            pl.col("bytes").sum().alias("bytes")]

    def ranked(grouped: pl.LazyFrame) -> pl.LazyFrame:
        stats = grouped.with_columns(_rate_columns(confidence)).select(
            *names, "requests", "failed", "error_rate", "ci_low", "ci_high", "bytes", "p95"
        )
        return stats.filter(pl.col("requests") >= min_requests).sort(
            [sort_by, "requests", *names], descending=[True, True] + [False] * len(names), nulls_last=True
        )

    if kind is Kind.LAZY:  # a scan: the p95s in bounded passes (a per-group quantile holds the rows)
        counted = lf.group_by(keys).agg(aggs).with_columns(p95=pl.lit(None, pl.Float64))
        top = n if sort_by != "p95" else None  # a p95 ranking needs every group's p95

        def compute() -> pl.DataFrame:
            counts = ranked(counted).collect(engine="streaming")
            rows = lf
            if top is not None and counts.height > top:
                # Only the groups that can be among the first n need a p95: those ranking at
                # least as high as the n-th by (sort_by, requests), ties at the edge included.
                edge = counts.row(top - 1, named=True)
                value, requests = pl.col(sort_by), pl.col("requests")
                counts = counts.filter(
                    (value > edge[sort_by]) | ((value == edge[sort_by]) & (requests >= edge["requests"]))
                )
                rows = _rows_of(lf, keys, counts.select(names))
            p95 = held_quantiles_scanned(rows, keys, metric, (0.95,))
            return counts.lazy().drop("p95").join(p95, on=names, how="left", nulls_equal=True).collect()

        out = ranked(pl.defer(compute, schema=ranked(counted).collect_schema()))
    else:
        out = ranked(clean_durations(lf, [metric]).group_by(keys).agg(*aggs, held_quantile(metric, 0.95)))
    return finish(out.head(n) if n is not None else out, kind)


def _rows_of(lf: pl.LazyFrame, keys: Sequence[pl.Expr], groups: pl.DataFrame) -> pl.LazyFrame:
    """The rows of *lf* in *groups* (their key columns; a null is a group too)."""
    if len(keys) > 1:  # the keys as columns of their own first: a join takes no aliased expressions
        temp = [f"__wsframes_key{i}" for i in range(len(keys))]
        on = groups.rename(dict(zip(groups.columns, temp, strict=True))).lazy()
        keyed = lf.with_columns(k.alias(t) for k, t in zip(keys, temp, strict=True))
        return keyed.join(on, on=temp, how="semi", nulls_equal=True).drop(temp)
    values = groups.to_series()  # one key: a filter, cheaper than the join (100M rows: 2.9 vs 3.8 s)
    inside = keys[0].is_in(values.drop_nulls().implode())
    return lf.filter(inside | keys[0].is_null() if values.null_count() else inside)


# -- standing problems ---------------------------------------------------------------------------
#: Where :func:`standing_problems` looks, in reading order. ``proxy_subnet_24`` is derived from
#: ``proxy_address`` when the frame lacks it; ``proxy_asn`` and ``proxy_country`` exist only after
#: :func:`~wsframes.analysis.enrich` and are skipped without it.
STANDING_DIMENSIONS = (
    "domain", "hostname", "proxy_address", "proxy_subnet_24", "proxy_asn", "proxy_country", "client_address",
)
_SEGMENT_SUMS = ("requests", "failed", "bytes", "failed_bytes")


def _segment_counts(lf: pl.LazyFrame, column: str, parent: pl.Expr) -> pl.LazyFrame:
    failed = pl.col("error_reason").is_not_null()
    # Grouped on the column as it is and made text after: a cast of every row's categorical to
    # a string cost more than the grouping; a masked sum, not a filtered one, for the same reason.
    counts = lf.group_by(pl.col(column).alias("value")).agg(
        pl.len().cast(pl.Int64).alias("requests"),
        failed.sum().cast(pl.Int64).alias("failed"),
        pl.col("bytes").sum().cast(pl.Int64).alias("bytes"),
        pl.when(failed).then(pl.col("bytes")).otherwise(0).sum().cast(pl.Int64).alias("failed_bytes"),
        parent.alias("parent"),
    )
    return counts.with_columns(pl.col("value", "parent").cast(pl.String))


def _segments(lf: pl.LazyFrame, dimensions: Sequence[str]) -> pl.LazyFrame:
    """``dimension, value, parent`` and the sums of every segment, stacked; a null value is no segment.

    ``parent`` is a host name's domain (null elsewhere), so that a host of a listed domain can be
    left to its domain. Deferred: the passes run when the result is collected, all at once, and
    the /24s are summed from the proxies' counts rather than counted again.
    """
    schema = lf.collect_schema()
    none = pl.lit(None, pl.String)
    # A host has one domain, so max() is it; first() would make the streaming engine hold every
    # row (at 20M rows: 2.0 GB instead of 0.5 GB).
    parents = {"hostname": pl.col("domain").max()} if "domain" in schema else {}
    counted = [d for d in dimensions if d in schema]
    if "proxy_subnet_24" in dimensions and "proxy_subnet_24" not in schema:
        counted.append("proxy_address")
    queries = {d: _segment_counts(lf, d, parents.get(d, none)) for d in counted}

    def compute() -> pl.DataFrame:
        # Separate scans: a shared one would be cached whole (every row of its columns).
        frames = pl.collect_all(queries.values(), engine="streaming", optimizations=SEPARATE_SCANS)
        counts = dict(zip(queries, frames, strict=True))
        parts = []
        for dim in dimensions:
            if dim in counts:
                found = counts[dim]
            else:  # the /24 from each proxy's sums: one string edit per proxy, not per row
                subnet = pl.col("value").map_batches(subnets, return_dtype=pl.String)
                found = counts["proxy_address"].group_by(subnet).agg(
                    pl.col(_SEGMENT_SUMS).sum(), pl.col("parent").first()
                )
            named = found.select(pl.lit(dim).alias("dimension"), pl.all())
            parts.append(named.filter(pl.col("value").is_not_null()))
        return pl.concat(parts, how="vertical")

    sums = next(iter(queries.values())).collect_schema() if queries else {}
    # Cached within a query: the caller reads the segments more than once (hosts of listed domains).
    return pl.defer(compute, schema={"dimension": pl.String(), **sums}).cache()


def _judged(seg: pl.LazyFrame, *, min_requests: int, min_ratio: float) -> pl.LazyFrame:
    """Segments with enough requests and the effect, with the rest's rate and the p-value."""
    total = pl.col("requests").sum().over("dimension")
    rest_failed = pl.col("failed").sum().over("dimension") - pl.col("failed")
    rest_rate, rate = pl.col("rest_error_rate"), pl.col("error_rate")
    return (
        seg.with_columns(
            (pl.col("failed") / pl.col("requests")).alias("error_rate"),
            (rest_failed / (total - pl.col("requests"))).alias("rest_error_rate"),
        )
        .filter((pl.col("requests") >= min_requests) & rest_rate.is_not_nan() & rest_rate.is_not_null())
        .with_columns(binomial_tail("failed", "requests", "rest_error_rate").alias("p_value"))
        .with_columns(
            pl.len().alias("tests"),
            ((rate > rest_rate) & (rate >= min_ratio * rest_rate)).alias("_effect"),
        )
    )


def standing_problems(
    df: Frame,
    previous: Frame | None = None,
    *,
    dimensions: Sequence[str] | None = None,
    min_requests: int = 100,
    min_ratio: float = 2.0,
    alpha: float = 0.01,
) -> Frame:
    """Segments failing far more than the rest of the pool over the whole period, costliest first.

    :func:`~wsframes.analysis.find_incidents` says what *changed*; this says what is chronically
    bad: a domain that fails half its requests all week, and did the week before, raises no
    incident, yet costs traffic. Each value of each dimension (domain, host, proxy, /24, ASN,
    country, client; see :data:`STANDING_DIMENSIONS`) with at least *min_requests* requests is
    tested against the rest of its dimension (every other value) with a one-sided exact binomial
    test. The tests share one false-alarm budget, Bonferroni over all of them, so a healthy pool
    lists nothing with probability at least ``1 - alpha``; a segment is listed when its adjusted
    p-value is below *alpha* and it fails at least *min_ratio* times as often as the rest. Too few
    requests cannot reach significance (the funnel limit) and below *min_requests* nothing is
    tested; the effect floor keeps a busy segment 10% worse than the rest out of a list of things
    far worse. Failures cluster in time (bursts), so the test overstates the evidence of a segment
    with one burst; such a segment is listed only if the burst alone doubles its period's rate, and
    the alerts then say when it began. A host name whose domain is listed is left out (the same
    failures, said once); a bad host of a domain that is otherwise fine is listed.

    Parameters
    ----------
    df : activity of the period (Polars eager or lazy, or pandas; the same kind is returned).
        Only per-segment sums are collected: lazy in, lazy out.
    previous : activity of the period before, to say whether each problem was already there.
    dimensions : columns to look in (default: those of :data:`STANDING_DIMENSIONS` the frame has).
    min_requests : segments with fewer requests are not tested (nor counted in the budget).
    min_ratio : how many times the rest's failure rate a segment's must be at least.
    alpha : the family-wise false-alarm budget of the call.

    Returns
    -------
    ``dimension, value, requests, failed, error_rate, rest_error_rate, excess_failed, bytes,
    failed_bytes, share_of_failures, p_adjusted, previous_requests, previous_error_rate,
    also_previous``, by ``excess_failed`` (failures beyond the rest's rate: the cost) descending.
    ``share_of_failures`` is the segment's share of its dimension's failed requests; ``bytes`` all
    it transferred and ``failed_bytes`` those of its failed requests. ``also_previous`` is true
    when the previous period passes the same test (budget shared by the listed segments), false
    when it does not, null without *previous* or with fewer than *min_requests* there.
    """
    lf, kind = as_lazy(df, func="standing_problems")
    chosen = _standing_dimensions(lf, dimensions)
    _check_standing(min_requests, min_ratio, alpha)
    share = pl.col("failed") / pl.col("failed").sum().over("dimension")
    listed = (
        _judged(_segments(lf, chosen).with_columns(share.alias("share_of_failures")),
                min_requests=min_requests, min_ratio=min_ratio)
        .with_columns(pl.min_horizontal(pl.col("p_value") * pl.col("tests"), 1.0).alias("p_adjusted"))
        .filter(pl.col("_effect") & (pl.col("p_adjusted") < alpha))
        .with_columns(excess_failed=pl.col("failed") - pl.col("requests") * pl.col("rest_error_rate"))
    )
    # A host of a listed domain is left to its domain: the same failures, said once.
    domains = listed.filter(pl.col("dimension") == "domain").select(pl.col("value").alias("parent"))
    listed = listed.join(domains, on="parent", how="anti")
    listed = _with_previous(
        listed, previous, chosen, alpha=alpha, min_requests=min_requests, min_ratio=min_ratio
    )
    out = listed.sort(["excess_failed", "dimension", "value"], descending=[True, False, False]).select(
        "dimension", "value", "requests", "failed", "error_rate", "rest_error_rate", "excess_failed", "bytes",
        "failed_bytes", "share_of_failures", "p_adjusted", "previous_requests", "previous_error_rate",
        "also_previous",
    )
    return finish(out, kind)


def _with_previous(
    listed: pl.LazyFrame, previous: Frame | None, dimensions: list[str], *,
    alpha: float, min_requests: int, min_ratio: float,
) -> pl.LazyFrame:
    """The previous period's requests and rate of each listed segment, and whether it was listed too."""
    if previous is None:
        return listed.with_columns(
            pl.lit(None, pl.Int64).alias("previous_requests"),
            pl.lit(None, pl.Float64).alias("previous_error_rate"),
            pl.lit(None, pl.Boolean).alias("also_previous"),
        )
    before, _ = as_lazy(previous, func="standing_problems")
    # Every segment of the previous period counts towards the rest's rate; only listed ones are tested.
    usable = set(_standing_dimensions(before, None)) | set(before.collect_schema())
    seg = _segments(before, [d for d in dimensions if d in usable])
    judged = _judged(seg, min_requests=min_requests, min_ratio=min_ratio).join(
        listed.select("dimension", "value"), on=["dimension", "value"], how="semi"
    )
    # The budget is shared by the listed segments (the hypotheses asked of the previous period).
    was = pl.col("_effect") & (pl.col("p_value") * pl.len() < alpha)
    verdicts = judged.select("dimension", "value", was.alias("also_previous"))
    rates = seg.select(
        "dimension", "value", pl.col("requests").alias("previous_requests"),
        (pl.col("failed") / pl.col("requests")).alias("previous_error_rate"),
    )
    enough = pl.col("previous_requests").fill_null(0) >= min_requests
    return (
        listed.join(rates, on=["dimension", "value"], how="left")
        .join(verdicts, on=["dimension", "value"], how="left")
        .with_columns(pl.when(enough).then(pl.col("also_previous").fill_null(False)).alias("also_previous"))
    )


def _standing_dimensions(lf: pl.LazyFrame, dimensions: Sequence[str] | None) -> list[str]:
    require_columns(lf, ["error_reason", "bytes"], func="standing_problems")
    schema = lf.collect_schema()
    derivable = {"proxy_subnet_24"} if "proxy_address" in schema else set()
    if dimensions is None:
        return [d for d in STANDING_DIMENSIONS if d in schema or d in derivable]
    chosen = [dimensions] if isinstance(dimensions, str) else list(dimensions)
    require_columns(lf, [d for d in chosen if d not in derivable], func="standing_problems")
    if not chosen:
        raise ConfigurationError("standing_problems() needs at least one dimension to look in.")
    return chosen


def _check_standing(min_requests: int, min_ratio: float, alpha: float) -> None:
    check_min_requests(min_requests)
    if isinstance(min_ratio, bool) or not isinstance(min_ratio, int | float) or not min_ratio >= 1:
        raise ConfigurationError(f"min_ratio={min_ratio!r} must be at least 1 (times the rest's rate).")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ConfigurationError(f"alpha={alpha!r} must be a probability in (0, 1).")
