"""The proxy pool: where each request's proxy is, how each part of the pool fares, who uses it.

:func:`enrich` adds the proxy's location and network to activity rows; :func:`pool_health`
grades any grouping of the pool (country, ASN, /24, proxy) with volume-aware verdicts;
:func:`replacement_plan` proposes (never sends) a dry-run replacement; :func:`client_audit`
lists the machines using the credentials.

What a row is attributed to
---------------------------
A row carries the address the request actually used (``proxy_address``), so it is enriched with
*that address's* attributes: a proxy replaced mid-window keeps its old attributes on the rows it
served (before the replacement, and after it for clients with a stale list), and its successor's
rows get the successor's. ``proxy_replaced_at`` says when the row's address left the pool (null:
still in it). The current list knows only current proxies, so an address that has left gets its
country from the replaced list and nothing else; enrich against dated snapshots
(:func:`wsframes.archive.proxies.scan_proxy_snapshots`) to get every attribute as it was then.

``proxy_subnet_24`` is the IPv4 ``/24`` (``"198.19.1.0/24"``); for IPv6 it is the ``/48``, the
usual size of one site's allocation (a /24's counterpart as a unit of reputation).

>>> import polars as pl
>>> act = pl.DataFrame({"proxy_address": ["10.0.0.7", "10.0.0.9", None]})
>>> px = pl.DataFrame({"proxy_address": ["10.0.0.7"], "country_code": ["DE"]})
>>> enrich(act, px).select("proxy_address", "proxy_country", "proxy_subnet_24").rows()
[('10.0.0.7', 'DE', '10.0.0.0/24'), ('10.0.0.9', None, '10.0.0.0/24'), (None, None, None)]
"""

from __future__ import annotations

import ipaddress
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import binom

from wsframes.analysis._frames import (
    ByLike,
    Frame,
    Kind,
    as_lazy,
    check_min_requests,
    failed_expr,
    finish,
    key_names,
    ranking_keys,
    require_columns,
    wilson_interval,
)
from wsframes.analysis._quantile import (
    BUCKET,
    bucket_plan,
    pick_quantiles,
    scan_quantile_table,
    scan_quantiles,
)
from wsframes.errors import ConfigurationError
from wsframes.schema import ERROR_CATALOGUE

__all__ = ["ENRICH_COLUMNS", "client_audit", "enrich", "pool_health"]

#: The columns :func:`enrich` adds, in order.
ENRICH_COLUMNS = ("proxy_country", "proxy_city", "proxy_asn", "proxy_asn_name", "proxy_subnet_24",
                  "proxy_replaced_at")
_RENAME = {"country_code": "proxy_country", "city_name": "proxy_city", "asn_number": "proxy_asn",
           "asn_name": "proxy_asn_name"}
# Repetitive text is Categorical, as in ACTIVITY_SCHEMA (and gathers 3-4x faster than String).
_LOOKUP_SCHEMA = pl.Schema({"proxy_address": pl.String(), "proxy_country": pl.Categorical(),
                            "proxy_city": pl.Categorical(), "proxy_asn": pl.Int64(),
                            "proxy_asn_name": pl.Categorical(), "proxy_subnet_24": pl.Categorical(),
                            "proxy_replaced_at": pl.Datetime("us", "UTC")})


def subnets(addresses: pl.Series) -> pl.Series:
    """The /24 of each IPv4 address, the /48 of each IPv6 one, as text (null stays null).

    IPv4 is a vectorised string edit; the (rare) IPv6 addresses go through :mod:`ipaddress`.

    >>> subnets(pl.Series(["10.1.2.3", "2001:db8:1:2::5", None])).to_list()
    ['10.1.2.0/24', '2001:db8:1::/48', None]
    """
    text = addresses.cast(pl.String)
    out = text.str.replace(r"\.\d+$", ".0/24")
    v6 = text.str.contains(":", literal=True).fill_null(False)
    if v6.any():
        prefixes = [_v6_prefix(a) for a in text.filter(v6).to_list()]
        out = out.scatter(v6.arg_true(), pl.Series(prefixes, dtype=pl.String))
    return out.alias("proxy_subnet_24")


def _v6_prefix(text: str) -> str | None:
    try:
        return str(ipaddress.IPv6Network(f"{text}/48", strict=False))
    except ValueError:
        return None


def _lookup(proxies: pl.DataFrame, replaced: pl.DataFrame | None,
            seen: pl.Series | None = None) -> pl.DataFrame:
    """One row per address (listed, replaced, or *seen* in the activity) with its columns."""
    if "proxy_address" not in proxies.columns:
        raise ConfigurationError("enrich(proxies=...) needs a 'proxy_address' column: pass "
                                 "wsframes.load_proxies() (or a snapshot of it).")
    cols = [pl.col(k).alias(v) if k in proxies.columns else pl.lit(None).alias(v) for k, v in _RENAME.items()]
    current = (proxies.filter(pl.col("proxy_address").is_not_null())
               .select(pl.col("proxy_address").cast(pl.String), *cols)
               .unique("proxy_address", keep="last", maintain_order=True))
    left = pl.DataFrame(schema={"proxy_address": pl.String, "_old_country": pl.String,
                                "proxy_replaced_at": _LOOKUP_SCHEMA["proxy_replaced_at"]})
    if replaced is not None and replaced.height:
        left = (replaced.group_by(pl.col("proxy").cast(pl.String).alias("proxy_address"))
                .agg(pl.col("created_at").max().alias("proxy_replaced_at"),
                     pl.col("proxy_country_code").sort_by("created_at").last().alias("_old_country")))
    table = current.join(left, on="proxy_address", how="full", coalesce=True)
    if seen is not None:  # addresses in no list still get their /24
        others = seen.cast(pl.String).drop_nulls().unique().to_frame("proxy_address")
        table = table.join(others, on="proxy_address", how="full", coalesce=True)
    table = table.with_columns(pl.coalesce("proxy_country", "_old_country").alias("proxy_country"))
    table = table.filter(pl.col("proxy_address").is_not_null())
    return table.with_columns(subnets(table["proxy_address"])).select(
        [pl.col(n).cast(t) for n, t in _LOOKUP_SCHEMA.items()])


def _gather_join(lf: pl.LazyFrame, proxies: pl.DataFrame, replaced: pl.DataFrame | None, *,
                 lazy: bool) -> pl.LazyFrame:
    """Attach the lookup's columns by ``proxy_address`` with gathers instead of a hash join.

    Categorical addresses share one dictionary, so an array from the physical code to a row of
    the lookup table turns the join into array indexing (benchmarks/bench_pool.py, 10M rows x
    100k proxies: 1.6-2.7 s, 1.3-2.3x faster than Polars' own join, on a loaded 2-core
    machine). The address column is read
    first (one pass over a lazy input), so every per-address computation, the /24 included, runs
    once per distinct address rather than once per row.
    """
    column = lf.select(pl.col("proxy_address").cast(pl.Categorical)).collect().to_series()
    physical = column.to_physical()
    present = physical.drop_nulls().to_numpy()
    holder = np.full(int(present.max(initial=0)) + 1, -1, dtype=np.int64)
    holder[present] = np.arange(len(present))  # a row (of the non-null ones) holding each address
    table = _lookup(proxies, replaced, column.drop_nulls().gather(holder[holder >= 0]))
    null_row = table.height
    table = pl.concat([table, pl.DataFrame(schema=table.schema).clear(1)])  # the last row: all null
    table_codes = table["proxy_address"].cast(pl.Categorical).to_physical().head(null_row).to_numpy()
    # Codes come from one process-wide dictionary: the code standing for null must be one that no
    # address, in the activity or in the lists, has.
    null_code = max(len(holder), int(table_codes.max(initial=0)) + 1)
    position = np.full(null_code + 1, null_row, dtype=np.uint32)
    position[table_codes] = np.arange(null_row, dtype=np.uint32)
    index = position[physical.fill_null(null_code).to_numpy()]  # null and unlisted: the null row
    if not lazy:  # one multi-threaded gather of the whole table, 3-4x faster than per column
        added = table.select(ENRICH_COLUMNS)[pl.Series(index)]
        return lf.collect().hstack(added.get_columns()).lazy()
    out = lf.with_columns(pl.Series("_proxy_row", index))
    return out.with_columns(
        pl.lit(table[c]).gather(pl.col("_proxy_row")).alias(c) for c in ENRICH_COLUMNS
    ).drop("_proxy_row")


def _asof_join(lf: pl.LazyFrame, snapshots: pl.DataFrame, replaced: pl.DataFrame | None) -> pl.LazyFrame:
    """Each row gets the newest snapshot taken at or before it (the earliest one before any)."""
    seen = lf.select(pl.col("proxy_address").cast(pl.String).unique()).collect().to_series()
    parts = [_lookup(snap, replaced, seen).with_columns(pl.lit(at).alias("_at"))
             for (at,), snap in snapshots.sort("snapshot_at").group_by("snapshot_at", maintain_order=True)]
    table = pl.concat(parts).sort("_at").lazy()
    rows = lf.with_row_index("_row").with_columns(pl.col("proxy_address").cast(pl.String).alias("_addr"))
    keyed = table.rename({"proxy_address": "_addr"})
    joined = rows.sort("timestamp").join_asof(keyed, left_on="timestamp", right_on="_at", by="_addr",
                                              strategy="backward", check_sortedness=False)
    first = keyed.group_by("_addr").agg(pl.all().sort_by("_at").first()).drop("_at")
    filled = joined.join(first, on="_addr", how="left", suffix="_first").with_columns(
        pl.when(pl.col("_at").is_null()).then(pl.col(f"{c}_first")).otherwise(pl.col(c)).alias(c)
        for c in ENRICH_COLUMNS
    )
    return filled.sort("_row").drop("_row", "_addr", "_at", *(f"{c}_first" for c in ENRICH_COLUMNS))


def enrich(activity: Frame, proxies: pl.DataFrame, replaced: pl.DataFrame | None = None) -> Frame:
    """Add the proxy's country, city, ASN, /24 and replacement time to every activity row.

    Parameters
    ----------
    activity : activity frame (Polars ``DataFrame``/``LazyFrame`` or pandas); same kind returned.
    proxies : the proxy list (:func:`wsframes.load_proxies`), or dated snapshots of it with a
        ``snapshot_at`` column (:func:`wsframes.archive.proxies.scan_proxy_snapshots`): each row
        then gets the snapshot valid at its time (the earliest one for rows before any).
    replaced : past replacements (:func:`wsframes.load_replaced_proxies`), optional: rows that
        used a replaced address get ``proxy_replaced_at`` and the old address's country.

    Returns
    -------
    The same rows in the same order, plus :data:`ENRICH_COLUMNS`; an unknown address gets nulls
    except its /24. Residential plans have no ``proxy_address``: every added column is null and
    a warning says to group by ``listen_address`` instead.
    """
    lf, kind = as_lazy(activity, func="enrich")
    require_columns(lf, ["proxy_address"], func="enrich")
    if isinstance(proxies, pl.LazyFrame):
        proxies = proxies.collect()
    if not isinstance(proxies, pl.DataFrame):
        raise ConfigurationError(f"enrich(proxies=...) takes a Polars frame from wsframes.load_proxies(), "
                                 f"not {type(proxies).__name__}.")
    if kind is not Kind.LAZY and _all_null_addresses(lf):
        warnings.warn("enrich(): no row has a proxy_address (a residential plan?), so the proxy_* "
                      "columns are null; group by listen_address (the gateway) instead.", stacklevel=2)
    existing = [c for c in ENRICH_COLUMNS if c in lf.collect_schema()]
    lf = lf.drop(existing)
    if "snapshot_at" in proxies.columns:
        require_columns(lf, ["timestamp"], func="enrich")
        out = _asof_join(lf, proxies, replaced)
    else:
        out = _gather_join(lf, proxies, replaced, lazy=kind is Kind.LAZY)
    return finish(out, kind)


def _all_null_addresses(lf: pl.LazyFrame) -> bool:
    counts = lf.select(pl.len().alias("n"), pl.col("proxy_address").null_count().alias("nulls")).collect()
    n, nulls = counts.row(0)
    return bool(n) and n == nulls


# -- health --------------------------------------------------------------------------------------
#: Quantiles reported, each only where the group holds enough points (see :func:`min_points`).
HEALTH_QUANTILES = (0.5, 0.95, 0.99)


def _p_names(quantiles: Sequence[float]) -> list[str]:
    """The columns of the held quantiles: ``p50``, ``p95``, ``p99``."""
    return [f"p{round(q * 100):d}" for q in quantiles]


_HEALTH_P = _p_names(HEALTH_QUANTILES)
#: A request is slow above the pool's p95: a healthy group has 5% of its timed requests there.
SLOW_QUANTILE = 0.95
_VERDICT_ORDER = {"worse than pool": 0, "slower than pool": 1, "in line with pool": 2, "better than pool": 3,
                  "insufficient data": 4, "not rated (no key)": 5}


def min_points(q: float) -> int:
    """Points a sample needs before its *q* quantile is reported: ten beyond it (p95: 200)."""
    return math.ceil(10 / (1 - q) - 1e-9) if q < 1 else 10**9


def binomial_sf(k: Sequence[int] | np.ndarray, n: Sequence[int] | np.ndarray,
                p: Sequence[float] | np.ndarray | float) -> np.ndarray:
    """P(X >= k) for X ~ Binomial(n, p), exact.

    >>> [round(float(v), 6) for v in binomial_sf([0, 3, 5], [5, 5, 5], [0.5, 0.5, 0.5])]
    [1.0, 0.5, 0.03125]
    """
    return np.asarray(binom.sf(np.asarray(k, dtype=np.float64) - 1, n, p), dtype=np.float64)


def failure_p_value(side: str) -> pl.Expr:
    """The failure test, per row of ``failed``, ``requests`` and ``rest_error_rate`` (the rest of
    the pool's): P(at least ``failed`` of ``requests``) at the rest's rate for *side* ``"worse"``,
    P(at most) for ``"better"``; exact, one-sided, 1 where there is no rest to compare with."""
    def tail(s: pl.Series) -> pl.Series:
        k, n, p = (s.struct.field(c).cast(pl.Float64).to_numpy()
                   for c in ("failed", "requests", "rest_error_rate"))
        p_ = np.nan_to_num(p)
        value = binomial_sf(k, n, p_) if side == "worse" else binom.cdf(k, n, p_)
        return pl.Series(np.where(np.isnan(p), 1.0, value))
    return pl.struct("failed", "requests", "rest_error_rate").map_batches(tail, return_dtype=pl.Float64)


def check_alpha(alpha: float) -> None:
    """Validate a false-alarm budget: a probability strictly between 0 and 1."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ConfigurationError(f"alpha must be a probability in (0, 1), got {alpha!r}.")


def timed(metric: str, rows: pl.Expr | None = None) -> pl.Expr:
    """*metric* over successful requests (of *rows*): the times health and speed are judged on
    (a failure's time says when it gave up, not how fast the proxy is). NaN is missing, as in the
    latency summaries (and in :func:`~wsframes.analysis._quantile.scan_quantile_table`)."""
    ok = pl.col("error_reason").is_null()
    return _duration(metric).filter(ok if rows is None else ok & rows)


def _duration(metric: str) -> pl.Expr:
    return pl.col(metric).cast(pl.Float64).fill_nan(None)


def held_quantile(metric: str, q: float) -> pl.Expr:
    """The *q* quantile of :func:`timed` *metric*, null where the group does not hold it
    (:func:`min_points`): the ``p50``/``p95``/``p99`` of :func:`pool_health` and
    :func:`~wsframes.analysis.errors.top_offenders`."""
    ok = timed(metric)
    return pl.when(ok.count() >= min_points(q)).then(ok.quantile(q, "linear")).alias(f"p{round(q * 100):d}")


def held_quantiles_scanned(
    lf: pl.LazyFrame, keys: Sequence[pl.Expr], metric: str, quantiles: Sequence[float] = HEALTH_QUANTILES
) -> pl.LazyFrame:
    """Per group of *keys*: :func:`held_quantile` of *quantiles*, the same numbers, by
    :func:`~wsframes.analysis._quantile.scan_quantile_table` (two streaming passes holding per-group
    state, not the rows). Deferred: the scan runs when the result is collected."""
    timed_rows = lf.filter(pl.col("error_reason").is_null())
    names = {n: dtype for n, dtype in lf.select(keys).collect_schema().items()}
    columns = _p_names(quantiles)

    def compute() -> pl.DataFrame:
        table = scan_quantile_table(timed_rows, {metric: quantiles}, by=keys)
        return table.select(*names, *_held(metric, quantiles))

    return pl.defer(compute, schema=names | dict.fromkeys(columns, pl.Float64()))


def _held(metric: str, quantiles: Sequence[float]) -> list[pl.Expr]:
    """``p50``... of a :func:`~wsframes.analysis._quantile.scan_quantile_table` result, null where
    the group does not hold them (:func:`min_points`), as :func:`held_quantile` in memory."""
    return [
        pl.when(pl.col(f"{metric}:count") >= min_points(q)).then(pl.col(f"{metric}:q{i}")).alias(name)
        for i, (q, name) in enumerate(zip(quantiles, _p_names(quantiles), strict=True))
    ]


def with_pool_p95(lf: pl.LazyFrame, metric: str, pool: pl.Expr) -> pl.LazyFrame:
    """Add ``_pool_p95``: the :data:`SLOW_QUANTILE` of :func:`timed` *metric* over the rows of *pool*."""
    return lf.with_columns(timed(metric, pool).quantile(SLOW_QUANTILE, "linear").alias("_pool_p95"))


def slow_aggs(metric: str) -> list[pl.Expr]:
    """Per group (of a frame :func:`with_pool_p95` prepared): successful requests with a time
    (``timed``), those above the pool's p95 (``slow``), and that p95 (``pool_p95``)."""
    # Masks rather than timed()'s filter: Polars' streaming engine sums masks batch by batch, while
    # a filter inside an aggregation made it hold every row of the group_by (+0.5 GiB at 10M).
    value = _duration(metric)
    ok = pl.col("error_reason").is_null() & value.is_not_null()
    slow = ok & (value > pl.col("_pool_p95"))
    return [ok.sum().cast(pl.Int64).alias("timed"), slow.sum().cast(pl.Int64).alias("slow"),
            pl.col("_pool_p95").first().alias("pool_p95")]


def min_timed(min_requests: int) -> int:
    """Timed requests a group needs before it is judged slow: enough to hold its own p95 (200)."""
    return max(min_requests, min_points(SLOW_QUANTILE))


def slow_p_value() -> pl.Expr:
    """The slow test, per row of ``slow`` and ``timed``: P(at least ``slow`` of ``timed`` above the
    pool's p95) if the group is as fast as the pool, i.e. Binomial(timed, 5%). One-sided: only
    slower is news."""
    return binomial_tail("slow", "timed", pl.lit(1 - SLOW_QUANTILE))


def binomial_tail(k: str, n: str, p: pl.Expr | str) -> pl.Expr:
    """:func:`binomial_sf` per row of the columns *k* and *n*, at the rate *p* (a column or expression)."""
    rate = pl.col(p) if isinstance(p, str) else p

    def tail(s: pl.Series) -> pl.Series:
        fields = (s.struct.field(f).to_numpy() for f in ("k", "n", "p"))
        return pl.Series(binomial_sf(*fields), dtype=pl.Float64)

    return pl.struct(pl.col(k).alias("k"), pl.col(n).alias("n"), rate.alias("p")).map_batches(
        tail, return_dtype=pl.Float64)


def failure_expr(failures: str) -> pl.Expr:
    """1 for a counted failure: ``"all"`` codes, or ``"proxy"``: those a replacement could fix.

    ``"proxy"`` leaves out Webshare's ``configuration`` codes (forbidden host, concurrency,
    bandwidth, stale list): they are the account's or the target's doing, not the proxy's.
    """
    if failures == "all":
        return failed_expr()
    if failures != "proxy":
        raise ConfigurationError(f"failures must be 'all' or 'proxy', got {failures!r}.")
    code = pl.col("error_reason").cast(pl.String)
    config = [c for c, info in ERROR_CATALOGUE.items() if info.type == "configuration"]
    return (code.is_not_null() & ~code.is_in(config)).cast(pl.UInt32)


def pool_health(
    df: Frame,
    *,
    by: ByLike = None,
    min_requests: int = 30,
    metric: str = "request_duration",
    failures: str = "all",
    confidence: float = 0.95,
    alpha: float = 0.01,
) -> Frame:
    """Grade each proxy (or country, ASN, /24...) against the pool's error rate and speed, worst first.

    :func:`top_offenders` ranks any column's values by their failures; this compares each group
    with the pool, beyond chance.

    Parameters
    ----------
    df : activity, usually :func:`enrich`-ed (Polars eager/lazy or pandas; same kind returned).
    by : default ``"proxy_address"``; ``"proxy_country"``, ``"proxy_asn"``, ``"proxy_subnet_24"``,
        ``"listen_address"`` (residential gateways)..., expressions, or several.
    min_requests : below this a group's verdict is ``"insufficient data"`` (3 requests, all
        failed, is not a dead proxy).
    metric : the duration whose p50/p95/p99 are given, over successful requests, each only
        where the group has enough of them (:func:`min_points`: 20, 200, 1000); else null.
        It is also the time the slow test reads.
    failures : ``"all"`` failed requests, or ``"proxy"`` (see :func:`failure_expr`).
    confidence : level of the Wilson intervals (shown; the verdicts come from the tests).
    alpha : false-alarm budget of the verdicts, shared by every test of the call (Bonferroni),
        as in :func:`~wsframes.analysis.replacement.replacement_plan`: on a healthy pool, any
        group is called worse or slower at most ~1% of the time.

    Returns
    -------
    ``<by...>, requests, failed, error_rate, ci_low, ci_high, bytes, p50, p95, p99, slow_share,
    pool_error_rate, pool_p95, verdict``. Rows with a null key (failures before a proxy was
    chosen have no ``proxy_address``) form a row with verdict ``"not rated (no key)"``, outside
    the pool's figures; groups under *min_requests* are ``"insufficient data"``. The others are
    tested as :func:`~wsframes.analysis.replacement.replacement_plan` tests them:
    ``"worse than pool"`` when its failures are improbably many at the rest of the pool's rate
    (one-sided exact binomial test); ``"slower than pool"`` when improbably many of its
    successful requests took longer than the pool's p95 (``pool_p95``; ``slow_share`` is their
    share, 5% for a group as fast as the pool; judged only where the group holds its own p95,
    :func:`min_timed`); ``"better than pool"`` when its failures are improbably few; else
    ``"in line with pool"``. Worst first.
    """
    lf, kind = as_lazy(df, func="pool_health")
    keys = ranking_keys(by, default="proxy_address", func="pool_health")
    _require_enriched(lf, keys)
    require_columns(lf, ["error_reason", "bytes", metric], func="pool_health")
    names = key_names(lf, keys)
    check_min_requests(min_requests)
    check_alpha(alpha)
    # Rows without a key (no proxy_address: failures before any proxy was chosen) are listed but
    # neither rated nor part of the pool's figures.
    pool = pl.all_horizontal(k.is_not_null() for k in keys)
    aggs = [pl.len().cast(pl.UInt32).alias("requests"), failure_expr(failures).sum().alias("failed"),
            pl.col("bytes").sum().alias("bytes"), *slow_aggs(metric)]
    if kind is Kind.LAZY:  # a scan: its quantiles in bounded passes (in memory Polars' own are faster)
        stats = _scanned_stats(lf, keys, names, metric, pool, failures, aggs)
    else:
        stats = with_pool_p95(lf, metric, pool).group_by(keys).agg(
            *aggs, *(held_quantile(metric, q) for q in HEALTH_QUANTILES))
    low, high = wilson_interval("failed", "requests", confidence=confidence)
    keyed = pl.all_horizontal(pl.col(n).is_not_null() for n in names)
    total, failed = pl.col("requests").filter(keyed).sum(), pl.col("failed").filter(keyed).sum()
    rest = ((failed - pl.col("failed")) / (total - pl.col("requests"))).fill_nan(None)
    rated = keyed & (pl.col("requests") >= min_requests)
    judged = rated & (pl.col("timed") >= min_timed(min_requests))
    tests = rated.sum() + judged.sum()  # one Bonferroni budget over every test, as replacement_plan
    beyond = {side: rated & (failure_p_value(side) * tests < alpha) for side in ("worse", "better")}
    verdict = (pl.when(~keyed).then(pl.lit("not rated (no key)"))
               .when(pl.col("requests") < min_requests).then(pl.lit("insufficient data"))
               .when(beyond["worse"]).then(pl.lit("worse than pool"))
               .when(judged & (slow_p_value() * tests < alpha)).then(pl.lit("slower than pool"))
               .when(beyond["better"]).then(pl.lit("better than pool"))
               .otherwise(pl.lit("in line with pool")))
    out = (stats.with_columns((pl.col("failed") / pl.col("requests")).alias("error_rate"), low, high,
                              (failed / total).alias("pool_error_rate"), rest.alias("rest_error_rate"),
                              pl.when(judged).then(pl.col("slow") / pl.col("timed")).alias("slow_share"))
           .with_columns(verdict.alias("verdict"))
           .sort([pl.col("verdict").replace_strict(_VERDICT_ORDER, return_dtype=pl.UInt8), "ci_low",
                  "requests", *names], descending=[False, True, True, *[False] * len(names)], nulls_last=True)
           .select(*names, "requests", "failed", "error_rate", "ci_low", "ci_high", "bytes",
                   *(f"p{round(q * 100):d}" for q in HEALTH_QUANTILES), "slow_share", "pool_error_rate",
                   "pool_p95", "verdict"))
    return finish(out, kind)


def _scanned_stats(
    lf: pl.LazyFrame,
    keys: Sequence[pl.Expr],
    names: list[str],
    metric: str,
    pool: pl.Expr,
    failures: str,
    aggs: list[pl.Expr],
) -> pl.LazyFrame:
    """:func:`pool_health`'s per-group figures of a scan in two streaming passes holding per-group
    state only, the same numbers as in memory. Pass 1 counts per group and bucket of the timed
    value (:func:`~wsframes.analysis._quantile.scan_quantile_table`'s buckets): every group's
    sums, which buckets hold its quantiles and, summed over the pool, the bucket of the pool's
    p95. Pass 2 reads the values of those buckets: the quantiles, the pool's p95 and, in its
    bucket, which values lie above it (those of higher buckets all do). Deferred until collected."""
    ok = pl.col("error_reason").is_null()
    p95_slot = lf.with_columns(pl.lit(None, pl.Float64).alias("_pool_p95"))
    schema = (
        p95_slot.group_by(keys)
        .agg(*aggs, *(pl.lit(None, pl.Float64).alias(c) for c in _HEALTH_P))
        .collect_schema()
    )

    def compute() -> pl.DataFrame:
        hist = _health_histogram(lf, keys, names, metric, failures)
        timed_hist = hist.filter("_ok").drop("_ok", "_f", "bytes")
        plan = bucket_plan(timed_hist, names, HEALTH_QUANTILES, "linear")
        keyed = pl.all_horizontal(pl.col(n).is_not_null() for n in names)
        pooled = (
            timed_hist.filter(keyed)
            .group_by("bucket")
            .agg(pl.col("len").sum(), pl.col("lo").min(), pl.col("hi").max())
        )
        pool_plan = bucket_plan(pooled, [], (SLOW_QUANTILE,), "linear")
        if plan.needed is None or pool_plan.needed is None:  # buckets that cannot serve: five passes
            return _stats_by_passes(lf, keys, names, metric, pool, aggs)
        at_p95 = pool_plan.needed["bucket"].implode()
        pairs = pl.concat(
            [
                plan.needed.select(*names, "bucket"),
                timed_hist.filter(pl.col("bucket").is_in(at_p95)).select(*names, "bucket"),
            ]
        ).unique()
        values = (
            lf.filter(ok)
            .select(*keys, _duration(metric).alias("x"))
            .with_columns(BUCKET)
            .join(pairs.lazy(), on=[*names, "bucket"], nulls_equal=True)
            .collect(engine="streaming")
        )
        chosen = values.join(plan.needed, on=[*names, "bucket"], nulls_equal=True).sort("_g", "x")
        quantiles = pick_quantiles(plan, chosen["x"].to_numpy(), metric, "linear")
        near = values.filter(pl.col("bucket").is_in(at_p95))
        p95_frame = pick_quantiles(pool_plan, near.filter(keyed)["x"].sort().to_numpy(), metric, "linear")
        p95 = p95_frame[f"{metric}:q0"][0] if p95_frame.height else None
        slow = _slow_counts(timed_hist, near, pool_plan.needed["bucket"].max(), p95, names)
        sums = hist.group_by(names).agg(
            pl.col("len").sum().alias("requests"),
            pl.col("_f").sum().alias("failed"),
            pl.col("bytes").sum(),
            pl.col("len").filter(pl.col("_ok") & pl.col("bucket").is_not_null()).sum().alias("timed"),
        )
        held = _held(metric, HEALTH_QUANTILES)
        out = (
            sums.join(slow, on=names, how="left", nulls_equal=True)
            .join(quantiles.select(*names, *held), on=names, how="left", nulls_equal=True)
            .with_columns(pl.col("slow").fill_null(0), pl.lit(p95, pl.Float64).alias("pool_p95"))
        )
        return out.select(pl.col(n).cast(t) for n, t in schema.items())

    return pl.defer(compute, schema=schema)


def _health_histogram(
    lf: pl.LazyFrame, keys: Sequence[pl.Expr], names: list[str], metric: str, failures: str
) -> pl.DataFrame:
    """Pass 1 of :func:`_scanned_stats`: per group, success (``_ok``) and bucket of the timed
    value: the rows, failures and bytes, and the values' range (``len, _f, bytes, lo, hi``)."""
    ok = pl.col("error_reason").is_null()
    timed_value = pl.when(ok).then(_duration(metric)).alias("x")
    rows = lf.select(*keys, ok.alias("_ok"), timed_value, failure_expr(failures).alias("_f"), "bytes")
    return (
        rows.group_by(*names, "_ok", BUCKET)
        .agg(pl.len(), pl.col("_f", "bytes").sum(), lo=pl.col("x").min(), hi=pl.col("x").max())
        .collect(engine="streaming")
    )


def _slow_counts(
    timed_hist: pl.DataFrame, near: pl.DataFrame, top: Any, p95: float | None, names: list[str]
) -> pl.DataFrame:
    """Per group, timed values above the pool's *p95*: all those of buckets above *top* (the
    highest bucket holding the p95) and those of *near* (the values of its buckets) above it."""
    above = pl.col("bucket") > top if top is not None else pl.lit(False)  # no p95: nothing is slow
    slower = [timed_hist.filter(above).select(*names, "len")]
    if p95 is not None:
        slower.append(near.filter(pl.col("x") > p95).group_by(names).agg(pl.len()))
    return pl.concat(slower, how="vertical_relaxed").group_by(names).agg(pl.col("len").sum().alias("slow"))


def _stats_by_passes(
    lf: pl.LazyFrame,
    keys: Sequence[pl.Expr],
    names: list[str],
    metric: str,
    pool: pl.Expr,
    aggs: list[pl.Expr],
) -> pl.DataFrame:
    """:func:`_scanned_stats` by five passes, for values the buckets cannot serve: the pool's p95
    first (a literal then), one group_by, then the groups' quantiles."""
    rows = lf.filter(pl.col("error_reason").is_null() & pool)
    p95 = scan_quantiles(rows, {metric: (SLOW_QUANTILE,)})[metric][0]
    stats = lf.with_columns(pl.lit(p95, pl.Float64).alias("_pool_p95")).group_by(keys).agg(aggs)
    quantiles = held_quantiles_scanned(lf, keys, metric)
    return stats.join(quantiles, on=names, how="left", nulls_equal=True).collect(engine="streaming")


def _require_enriched(lf: pl.LazyFrame, keys: Sequence[pl.Expr]) -> None:
    schema = lf.collect_schema()
    wanted = [n for k in keys for n in k.meta.root_names()]
    missing = [n for n in wanted if n in ENRICH_COLUMNS and n not in schema]
    if missing:
        raise ConfigurationError(f"{', '.join(missing)} is added by wsframes.enrich(activity, "
                                 "wsframes.load_proxies()): enrich the activity first.")


# -- clients -------------------------------------------------------------------------------------
def _networks(allowed: Sequence[str] | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    if allowed is None:
        return None
    if isinstance(allowed, str):
        allowed = [allowed]
    nets = []
    for item in allowed:
        try:
            nets.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise ConfigurationError(f"allowed= takes CIDRs such as '203.0.113.0/24' or '2001:db8::/32'; "
                                     f"{item!r} is not one.") from None
    return nets


def client_audit(df: Frame, *, allowed: Sequence[str] | None = None) -> Frame:
    """Who uses the credentials: client addresses by requests and bytes, checked against *allowed*.

    Columns: ``client_address, requests, bytes, failed, stale_list_attempts`` (requests that
    failed with ``no_proxies_allocated``: a client using a proxy no longer in the list),
    ``auth_usernames`` (the distinct ``auth_username`` of those attempts), ``first_seen,
    last_seen, allowed`` (null without an allow-list; false flags an address outside every CIDR:
    leaked credentials, or a machine nobody listed). Most requests first.
    """
    nets = _networks(allowed)
    lf, kind = as_lazy(df, func="client_audit")
    require_columns(lf, ["client_address", "bytes", "error_reason", "auth_username", "timestamp"],
                    func="client_audit")
    stale = pl.col("error_reason").cast(pl.String) == "no_proxies_allocated"
    out = lf.group_by(pl.col("client_address").cast(pl.String)).agg(
        pl.len().cast(pl.UInt32).alias("requests"), pl.col("bytes").sum().alias("bytes"),
        failed_expr().sum().alias("failed"), stale.sum().cast(pl.UInt32).alias("stale_list_attempts"),
        pl.col("auth_username").filter(stale).drop_nulls().unique().sort().alias("auth_usernames"),
        pl.col("timestamp").min().alias("first_seen"), pl.col("timestamp").max().alias("last_seen"),
    )
    inside = (pl.col("client_address").map_elements(lambda a: _inside(a, nets), return_dtype=pl.Boolean)
              if nets is not None else pl.lit(None, dtype=pl.Boolean))
    out = out.with_columns(inside.alias("allowed")).sort(["requests", "client_address"],
                                                         descending=[True, False])
    return finish(out, kind)


def _inside(address: str, nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # not an address at all: certainly not an allowed one
    return any(ip.version == n.version and ip in n for n in nets or [])
