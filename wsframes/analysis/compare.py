"""What changed between two periods: volume, success rate (tested), latency, error mix, churn.

>>> import polars as pl
>>> before = pl.DataFrame({"error_reason": [None] * 90 + ["bandwidthlimit"] * 10,
...                        "handshake_duration": [0.1] * 100, "domain": ["a.com"] * 100,
...                        "proxy_address": ["192.0.2.1"] * 100})
>>> after = before.with_columns(pl.lit(None, pl.String).alias("error_reason"))
>>> c = compare_periods(before, after)
>>> c.summary.select("success_rate_before", "success_rate_after", "significant").row(0)
(0.9, 1.0, True)
>>> c.changes.select("kind", "value", "status").row(0)
('error_reason', 'bandwidthlimit', 'vanished')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic

import polars as pl

from wsframes.analysis._frames import (
    ByLike,
    Frame,
    Kind,
    as_lazy,
    check_quantiles,
    clean_durations,
    failed_expr,
    group_keys,
    key_names,
    quantile_name,
    require_columns,
    z_value,
)
from wsframes.analysis.errors import catalogue_frame

__all__ = ["PeriodComparison", "compare_periods", "two_proportion_p_value"]

_CHURN_COLUMNS = ("error_reason", "domain", "proxy_address")


@dataclass(frozen=True)
class PeriodComparison(Generic[Frame]):
    """The parts of a period comparison, each a frame of the kind the inputs were.

    Attributes
    ----------
    summary : per group: ``requests_before, requests_after, volume_change`` (relative),
        ``success_rate_before, success_rate_after, success_rate_change`` (after - before),
        ``z, p_value`` (two-proportion z-test, pooled, two-sided) and ``significant``.
    latency : per group: ``p50_before, p50_after, p50_change`` ... for each quantile
        (``_change`` is relative: 0.1 means 10 % slower).
    error_codes : per ``error_reason``: ``category, count_before, count_after, share_before,
        share_after, share_change`` (shares of all requests), sorted by the larger count.
    changes : ``kind, value, status, requests``: error codes, domains and proxies that
        ``appeared`` (only after) or ``vanished`` (only before), with their request count.
    """

    summary: Frame
    latency: Frame
    error_codes: Frame
    changes: Frame

    def _repr_html_(self) -> str:
        """Jupyter view: the four frames as tables of their first rows, each named by its attribute."""
        from wsframes.analysis._display import frame_html

        parts = [f"<p><b>PeriodComparison</b>: four frames, {', '.join(_PARTS)}.</p>"]
        parts += [frame_html(getattr(self, name), title=f".{name}") for name in _PARTS]
        return "".join(parts)


_PARTS = ("summary", "latency", "error_codes", "changes")


def two_proportion_p_value(z: pl.Expr) -> pl.Expr:
    """Two-sided normal p-value of a z statistic (null stays null)."""

    def p_values(s: pl.Series) -> pl.Series:
        return pl.Series(
            [None if v is None else math.erfc(abs(v) / math.sqrt(2)) for v in s], dtype=pl.Float64
        )

    return z.map_batches(p_values, return_dtype=pl.Float64)


def _volume(lf: pl.LazyFrame, keys: list[pl.Expr], names: list[str], suffix: str) -> pl.LazyFrame:
    aggs = [
        pl.len().cast(pl.UInt32).alias(f"requests{suffix}"),
        failed_expr().sum().alias(f"_failed{suffix}"),
    ]
    return lf.group_by(keys).agg(aggs) if keys else lf.select(aggs)


def _summary(
    before: pl.LazyFrame, after: pl.LazyFrame, keys: list[pl.Expr], names: list[str], alpha: float
) -> pl.LazyFrame:
    b, a = _volume(before, keys, names, "_before"), _volume(after, keys, names, "_after")
    joined = (
        b.join(a, on=names, how="full", coalesce=True, nulls_equal=True)
        if names
        else pl.concat([b, a], how="horizontal")
    )
    n1, n2 = pl.col("requests_before").fill_null(0), pl.col("requests_after").fill_null(0)
    s1, s2 = n1 - pl.col("_failed_before").fill_null(0), n2 - pl.col("_failed_after").fill_null(0)
    p1, p2 = s1 / n1, s2 / n2
    pooled = (s1 + s2) / (n1 + n2)
    se = (pooled * (1 - pooled) * (1 / n1 + 1 / n2)).sqrt()
    z = pl.when((n1 > 0) & (n2 > 0) & (se > 0)).then((p2 - p1) / se).when((n1 > 0) & (n2 > 0)).then(0.0)
    return (
        joined.with_columns(n1.alias("requests_before"), n2.alias("requests_after"))
        .with_columns(
            pl.when(n1 > 0).then(n2 / n1 - 1).alias("volume_change"),
            p1.alias("success_rate_before"),
            p2.alias("success_rate_after"),
            (p2 - p1).alias("success_rate_change"),
            z.alias("z"),
        )
        .with_columns(two_proportion_p_value(pl.col("z")).alias("p_value"))
        .with_columns((pl.col("p_value") < alpha).alias("significant"))
        .drop("_failed_before", "_failed_after")
        .sort(names, nulls_last=True)
    )


def _latency(
    before: pl.LazyFrame,
    after: pl.LazyFrame,
    keys: list[pl.Expr],
    names: list[str],
    metric: str,
    qs: tuple[float, ...],
) -> pl.LazyFrame:
    def side(lf: pl.LazyFrame, suffix: str) -> pl.LazyFrame:
        lf = clean_durations(lf, [metric])
        v = pl.col(metric)
        aggs = [v.quantile(q, "linear").alias(f"{quantile_name(q)}{suffix}") for q in qs]
        return lf.group_by(keys).agg(aggs) if keys else lf.select(aggs)

    b, a = side(before, "_before"), side(after, "_after")
    joined = (
        b.join(a, on=names, how="full", coalesce=True, nulls_equal=True)
        if names
        else pl.concat([b, a], how="horizontal")
    )
    cols: list[str | pl.Expr] = []
    for q in qs:
        n = quantile_name(q)
        cols += [
            f"{n}_before",
            f"{n}_after",
            (pl.col(f"{n}_after") / pl.col(f"{n}_before") - 1).alias(f"{n}_change"),
        ]
    return joined.select(*names, pl.lit(metric).alias("metric"), *cols).sort(names, nulls_last=True)


def _error_codes(before: pl.LazyFrame, after: pl.LazyFrame) -> pl.LazyFrame:
    def side(lf: pl.LazyFrame, suffix: str) -> pl.LazyFrame:
        return (
            lf.select(pl.col("error_reason").cast(pl.String))
            .group_by("error_reason")
            .agg(pl.len().cast(pl.UInt32).alias(f"count{suffix}"))
            .with_columns((pl.col(f"count{suffix}") / pl.col(f"count{suffix}").sum()).alias(f"share{suffix}"))
            .filter(pl.col("error_reason").is_not_null())
        )

    joined = side(before, "_before").join(side(after, "_after"), on="error_reason", how="full", coalesce=True)
    return (
        joined.join(
            catalogue_frame().lazy().select("error_reason", "category"), on="error_reason", how="left"
        )
        .with_columns(
            pl.col("category").fill_null("unknown"),
            pl.col("count_before", "count_after", "share_before", "share_after").fill_null(0),
        )
        .with_columns((pl.col("share_after") - pl.col("share_before")).alias("share_change"))
        .sort(pl.max_horizontal("count_before", "count_after"), "error_reason", descending=[True, False])
        .select(
            "error_reason",
            "category",
            "count_before",
            "count_after",
            "share_before",
            "share_after",
            "share_change",
        )
    )


def _changes(before: pl.LazyFrame, after: pl.LazyFrame, columns: Sequence[str]) -> pl.LazyFrame:
    parts = []
    for column in columns:
        b = before.group_by(pl.col(column).cast(pl.String).alias("value")).agg(
            pl.len().cast(pl.UInt32).alias("requests")
        )
        a = after.group_by(pl.col(column).cast(pl.String).alias("value")).agg(
            pl.len().cast(pl.UInt32).alias("requests")
        )
        b, a = b.filter(pl.col("value").is_not_null()), a.filter(pl.col("value").is_not_null())
        for status, here, there in (("appeared", a, b), ("vanished", b, a)):
            parts.append(
                here.join(there, on="value", how="anti").select(
                    pl.lit(column).alias("kind"), "value", pl.lit(status).alias("status"), "requests"
                )
            )
    schema = {"kind": pl.String, "value": pl.String, "status": pl.String, "requests": pl.UInt32}
    if not parts:
        return pl.LazyFrame(schema=schema)
    order = {c: i for i, c in enumerate(columns)}
    return (
        pl.concat(parts)
        .with_columns(pl.col("kind").replace_strict(order, return_dtype=pl.UInt8).alias("_o"))
        .sort(["_o", "status", "requests", "value"], descending=[False, False, True, False])
        .drop("_o")
    )


def compare_periods(
    before: Frame,
    after: Frame,
    *,
    by: ByLike = None,
    metric: str = "handshake_duration",
    quantiles: Sequence[float] = (0.5, 0.95, 0.99),
    confidence: float = 0.95,
) -> PeriodComparison[Frame]:
    """Compare two activity frames (e.g. last week and this week); see :class:`PeriodComparison`.

    Results come back as the kind of frame *before* is (lazy in, lazy out). A change in success
    rate is ``significant`` when the two-proportion z-test's p-value is below ``1 - confidence``.
    Churn (``changes``) covers ``error_reason``, ``domain`` and ``proxy_address``, whichever the
    frames have.

    Parameters
    ----------
    before, after : activity frames of the two periods (Polars eager or lazy, or pandas).
    by : column names, expressions or ``"outcome"``: compare per group (summary and latency).
    metric : duration compared by percentile (default ``handshake_duration``).
    quantiles : percentiles compared, named ``p50_before``, ``p50_after``, ``p50_change``...
    confidence : ``significant`` means p-value < 1 - confidence.

    Returns
    -------
    PeriodComparison
        Frames ``summary``, ``latency``, ``error_codes`` and ``changes``.
    """
    b, kind = as_lazy(before, func="compare_periods")
    a, _ = as_lazy(after, func="compare_periods")
    for lf in (b, a):
        require_columns(lf, ["error_reason", metric], func="compare_periods")
    qs = check_quantiles(quantiles)
    alpha = 1 - confidence
    z_value(confidence)  # validates confidence
    keys = group_keys(by, func="compare_periods")
    names = key_names(b, keys)
    key_names(a, keys)
    present = [c for c in _CHURN_COLUMNS if c in b.collect_schema() and c in a.collect_schema()]
    parts = [
        _summary(b, a, keys, names, alpha),
        _latency(b, a, keys, names, metric, qs),
        _error_codes(b, a),
        _changes(b, a, present),
    ]
    if kind is not Kind.LAZY:  # one collect for the four parts, so shared work is done once
        parts = [f.lazy() for f in pl.collect_all(parts)]
    return PeriodComparison(*(kind.convert(p) for p in parts))
