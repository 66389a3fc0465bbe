"""Replacement advice, never an action: which parts of the pool fail more or are slower.

Every proxy, /24, ASN and country with at least ``min_requests`` requests is tested against the
rest of the pool with a one-sided exact binomial test (is its failure count improbably high if it
failed at the rest's rate?). Those that hold their own p95 (200 successful requests,
:func:`~wsframes.analysis.pool.min_timed`) are also tested for speed, as
:func:`~wsframes.analysis.pool.pool_health` does: is the count of its successful requests slower
than the pool's p95 improbably high for Binomial(n, 5%)? Both kinds share one false-alarm budget:
Bonferroni over every test of the call, so on a healthy pool the chance that *anything* is
proposed is at most ``alpha`` (default 1%). What is flagged comes with its evidence and the JSON
body of Webshare's ``POST /api/v3/proxy/replace/`` with ``dry_run: true``; wsframes never sends it.

Body shapes (apidocs.webshare.io, "Create proxy replacement"; official SDK ``proxy_replacements``):
``to_replace`` is one of ``{"type": "ip_address", "ip_addresses": [...]}``,
``{"type": "ip_range", "ip_ranges": ["a.b.c.0/24"]}``, ``{"type": "asn", "asn_numbers": [...]}``,
``{"type": "country", "country_codes": [...]}``; ``replace_with`` is a list of
``{"type": "any" | "country" | "asn" | "ip_range", ..., "count": n}``. The API replaces as many
proxies as it adds, so ``count`` is the number of listed proxies the ``to_replace`` covers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from wsframes.analysis._frames import Frame, as_lazy, check_min_requests, require_columns, wilson_interval
from wsframes.analysis.pool import (
    ENRICH_COLUMNS,
    SLOW_QUANTILE,
    check_alpha,
    enrich,
    failure_expr,
    failure_p_value,
    held_quantile,
    min_timed,
    slow_aggs,
    slow_p_value,
    with_pool_p95,
)
from wsframes.errors import ConfigurationError

__all__ = ["LEVELS", "ReplacementPlan", "replacement_plan"]

#: Level -> (column, ``to_replace`` type, key of its list).
LEVELS: dict[str, tuple[str, str, str]] = {
    "proxy": ("proxy_address", "ip_address", "ip_addresses"),
    "subnet": ("proxy_subnet_24", "ip_range", "ip_ranges"),
    "asn": ("proxy_asn", "asn", "asn_numbers"),
    "country": ("proxy_country", "country", "country_codes"),
}


@dataclass(frozen=True)
class ReplacementPlan:
    """What :func:`replacement_plan` proposes.

    Attributes
    ----------
    candidates : polars.DataFrame
        One row per flagged proxy/range/ASN/country, worst evidence first: ``level, value,
        reason`` (``"failures"``, ``"slow"`` or ``"failures, slow"``), ``requests, failed,
        error_rate, ci_low, ci_high, rest_error_rate``, then the speed: ``slow_share`` (its
        successful requests slower than the pool's p95: 5% for a group as fast as the pool),
        ``p95, pool_p95``, then ``p_value`` (its most significant test), ``p_adjusted`` and
        ``proxies`` (listed proxies it covers).
    bodies : list of dict
        Dry-run request bodies for ``POST /api/v3/proxy/replace/``, one per level with findings,
        most specific first. They are alternatives at different grains (a bad /24 also makes its
        ASN and country worse), not steps to run one after another; a proxy inside a flagged
        range is left to the range's body.
    tests : int
        How many tests (failures and speed) shared the false-alarm budget *alpha*.
    """

    candidates: pl.DataFrame
    bodies: list[dict[str, Any]] = field(default_factory=list)
    tests: int = 0
    alpha: float = 0.01

    def to_json(self) -> str:
        """The bodies as indented JSON, ready to paste (one array)."""
        return json.dumps(self.bodies, indent=2)


def _levels(levels: Sequence[str]) -> list[str]:
    chosen = [levels] if isinstance(levels, str) else list(levels)
    unknown = [lv for lv in chosen if lv not in LEVELS]
    if unknown or not chosen:
        raise ConfigurationError(f"levels must name some of {list(LEVELS)}, got {levels!r}.")
    return chosen


def _group_stats(lf: pl.LazyFrame, levels: list[str], failures: str, metric: str) -> pl.DataFrame:
    """requests/failures and speed (see :func:`~wsframes.analysis.pool.slow_aggs`) per value of
    every level, stacked (value as text); the pool's p95 is over the first level's rows."""
    failed = failure_expr(failures)
    lf = with_pool_p95(lf, metric, pl.col(LEVELS[levels[0]][0]).is_not_null())
    parts = []
    for level in levels:
        column = LEVELS[level][0]
        parts.append(lf.filter(pl.col(column).is_not_null())
                     .group_by(pl.col(column).cast(pl.String).alias("value"))
                     .agg(pl.len().cast(pl.Int64).alias("requests"),
                          failed.sum().cast(pl.Int64).alias("failed"),
                          held_quantile(metric, SLOW_QUANTILE), *slow_aggs(metric))
                     .with_columns(pl.lit(level).alias("level")))
    return pl.concat(pl.collect_all(parts)).select("level", "value", "requests", "failed", "timed", "slow",
                                                   "p95", "pool_p95")


def replacement_plan(
    df: Frame,
    proxies: pl.DataFrame,
    *,
    replaced: pl.DataFrame | None = None,
    levels: Sequence[str] = ("proxy", "subnet", "asn", "country"),
    alpha: float = 0.01,
    min_requests: int = 30,
    failures: str = "proxy",
    metric: str = "request_duration",
) -> ReplacementPlan:
    """Proxies, /24s, ASNs or countries failing significantly more than the rest of the pool, or
    significantly slower than the pool.

    Parameters
    ----------
    df : activity (enriched or not: it is enriched with *proxies* when it lacks the columns).
    proxies : the current list (:func:`wsframes.load_proxies`): only listed proxies are proposed
        for replacement, and it gives how many proxies each body replaces.
    replaced : past replacements, passed on to :func:`enrich`.
    levels : which groupings to test.
    alpha : the family-wise false-alarm budget of the whole call (Bonferroni over the failure
        and the speed tests).
    min_requests : groups with fewer requests are not tested (and do not use up the budget).
    failures : ``"proxy"`` (default: failures a replacement could fix) or ``"all"``.
    metric : the time of the speed test, over successful requests.

    Returns
    -------
    ReplacementPlan
        ``candidates`` with the evidence, ``bodies`` (dry-run JSON), never sent anywhere.
    """
    chosen = _levels(levels)
    check_alpha(alpha)
    check_min_requests(min_requests)
    lf, _ = as_lazy(df, func="replacement_plan")
    require_columns(lf, ["proxy_address", "error_reason", metric], func="replacement_plan")
    if any(c not in lf.collect_schema() for c in ENRICH_COLUMNS):
        lf = enrich(lf, proxies, replaced)
    stats = _group_stats(lf, chosen, failures, metric)
    totals = stats.filter(pl.col("level") == chosen[0]).select(pl.col("requests", "failed").sum()).row(0)
    evidence, tests = _evidence(stats.filter(pl.col("requests") >= min_requests), totals, min_requests, alpha)
    listed = proxies.filter(pl.col("proxy_address").is_not_null())
    flagged = evidence.filter(pl.col("p_adjusted") < alpha)
    flagged = flagged.with_columns(_covered(listed, flagged).alias("proxies"))
    flagged = flagged.sort("p_value", "level", "value")
    return ReplacementPlan(flagged, _bodies(flagged, listed), tests, float(alpha))


def _evidence(tested: pl.DataFrame, totals: tuple[int, int], min_requests: int,
              alpha: float) -> tuple[pl.DataFrame, int]:
    """Both tests of every tested group, Bonferroni over all of them; and how many there were.

    The failure test compares a group with the rest of the pool (*totals* minus the group); the
    speed test is judged only where the group holds its own p95. ``p_value`` is the group's
    most significant test, ``reason`` names those within the budget.
    """
    rest = ((totals[1] - pl.col("failed")) / (totals[0] - pl.col("requests"))).fill_nan(None)
    tested = tested.with_columns(rest.alias("rest_error_rate"))
    p_failed = tested.select(failure_p_value("worse")).to_series().to_numpy()
    judged = (tested["timed"] >= min_timed(min_requests)).to_numpy()
    p_slow = np.where(judged, tested.select(slow_p_value()).to_series().to_numpy(), 1.0)
    tests = tested.height + int(judged.sum())
    fails, slow = p_failed * tests < alpha, p_slow * tests < alpha
    reason = np.where(fails & slow, "failures, slow", np.where(fails, "failures", np.where(slow, "slow", "")))
    p = np.minimum(p_failed, p_slow)
    low, high = wilson_interval("failed", "requests")
    evidence = tested.with_columns(
        pl.Series("reason", reason.tolist(), dtype=pl.String),
        (pl.col("failed") / pl.col("requests")).alias("error_rate"), low, high,
        pl.when(pl.Series(judged)).then(pl.col("slow") / pl.col("timed")).alias("slow_share"),
        pl.Series("p_value", p), pl.Series("p_adjusted", np.minimum(p * max(tests, 1), 1.0)),
    )
    columns = ["level", "value", "reason", "requests", "failed", "error_rate", "ci_low", "ci_high",
               "rest_error_rate", "slow_share", "p95", "pool_p95", "p_value", "p_adjusted"]
    return evidence.select(columns), tests


def _covered(listed: pl.DataFrame, flagged: pl.DataFrame) -> pl.Series:
    """Listed proxies each flagged value covers."""
    table = enrich(listed.select(pl.col("proxy_address").cast(pl.Categorical)), listed)
    counts = []
    for level, value in flagged.select("level", "value").iter_rows():
        column = LEVELS[level][0]
        counts.append(int((table[column].cast(pl.String) == value).sum()))
    return pl.Series(counts, dtype=pl.Int64)


def _bodies(flagged: pl.DataFrame, listed: pl.DataFrame) -> list[dict[str, Any]]:
    """One dry-run body per level with listed proxies to replace."""
    ranges = set(flagged.filter(pl.col("level") == "subnet")["value"].to_list())
    bodies = []
    for level, (_, kind, key) in LEVELS.items():
        rows = flagged.filter((pl.col("level") == level) & (pl.col("proxies") > 0))
        if level == "proxy":  # a proxy inside a flagged range is covered by the range's body
            rows = rows.filter(~pl.col("value").map_elements(
                lambda a: a.rsplit(".", 1)[0] + ".0/24" in ranges, return_dtype=pl.Boolean))
        if rows.height == 0:
            continue
        values: list[Any] = rows["value"].to_list()
        if level == "asn":
            values = [int(v) for v in values]
        bodies.append({"to_replace": {"type": kind, key: values},
                       "replace_with": [{"type": "any", "count": int(rows["proxies"].sum())}],
                       "dry_run": True})
    return bodies
