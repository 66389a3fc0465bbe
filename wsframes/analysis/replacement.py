"""Replacement advice, never an action: which parts of the pool fail significantly more.

Every proxy, /24, ASN and country with at least ``min_requests`` requests is tested against the
rest of the pool with a one-sided exact binomial test (is its failure count improbably high if it
failed at the rest's rate?). The tests share one false-alarm budget: Bonferroni over every test
of the call, so on a healthy pool the chance that *anything* is proposed is at most ``alpha``
(default 1%). What is flagged comes with its evidence and the JSON body of Webshare's
``POST /api/v3/proxy/replace/`` with ``dry_run: true``; wsframes never sends it.

Body shapes (apidocs.webshare.io, "Create proxy replacement"; official SDK ``proxy_replacements``):
``to_replace`` is one of ``{"type": "ip_address", "ip_addresses": [...]}``,
``{"type": "ip_range", "ip_ranges": ["a.b.c.0/24"]}``, ``{"type": "asn", "asn_numbers": [...]}``,
``{"type": "country", "country_codes": [...]}``; ``replace_with`` is a list of
``{"type": "any" | "country" | "asn" | "ip_range", ..., "count": n}``. The API replaces as many
proxies as it adds, so ``count`` is the number of listed proxies the ``to_replace`` covers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from wsframes.analysis._frames import Frame, as_lazy, require_columns, wilson_interval
from wsframes.analysis.pool import ENRICH_COLUMNS, enrich, failure_expr
from wsframes.errors import ConfigurationError

__all__ = ["LEVELS", "ReplacementPlan", "binomial_sf", "replacement_plan"]

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
        requests, failed, error_rate, ci_low, ci_high, rest_error_rate, p_value, p_adjusted,
        proxies`` (listed proxies it covers).
    bodies : list of dict
        Dry-run request bodies for ``POST /api/v3/proxy/replace/``, one per level with findings,
        most specific first. They are alternatives at different grains (a bad /24 also makes its
        ASN and country worse), not steps to run one after another; a proxy inside a flagged
        range is left to the range's body.
    tests : int
        How many tests shared the false-alarm budget *alpha*.
    """

    candidates: pl.DataFrame
    bodies: list[dict[str, Any]] = field(default_factory=list)
    tests: int = 0
    alpha: float = 0.01

    def to_json(self) -> str:
        """The bodies as indented JSON, ready to paste (one array)."""
        return json.dumps(self.bodies, indent=2)


def _betacf(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Continued fraction of the incomplete beta (modified Lentz), vectorised."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
    h = d.copy()
    for m in range(1, 400):
        m2 = 2 * m
        even = m * (b - m) * x / ((qam + m2) * (a + m2))
        odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        for aa in (even, odd):
            d = 1.0 + aa * d
            d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
            c = 1.0 + aa / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            h = h * d * c
        if np.all(np.abs(d * c - 1.0) < 1e-14):
            break
    return h


def _betainc(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Regularised incomplete beta I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    lg = np.vectorize(math.lgamma, otypes=[float])
    with np.errstate(divide="ignore", invalid="ignore"):
        front = np.exp(lg(a + b) - lg(a) - lg(b) + a * np.log(x) + b * np.log1p(-x))
        direct = x < (a + 1.0) / (a + b + 2.0)
        value = np.where(direct, front * _betacf(a, b, x) / a,
                         1.0 - front * _betacf(b, a, 1.0 - x) / b)
    value = np.where(x <= 0, 0.0, np.where(x >= 1, 1.0, value))
    return np.clip(value, 0.0, 1.0)


def binomial_sf(k: Sequence[int] | np.ndarray, n: Sequence[int] | np.ndarray,
                p: Sequence[float] | np.ndarray) -> np.ndarray:
    """P(X >= k) for X ~ Binomial(n, p), exact (regularised incomplete beta).

    >>> [round(float(v), 6) for v in binomial_sf([0, 3, 5], [5, 5, 5], [0.5, 0.5, 0.5])]
    [1.0, 0.5, 0.03125]
    """
    k_, n_, p_ = (np.asarray(v, dtype=np.float64) for v in (k, n, p))
    out = np.ones(np.broadcast(k_, n_, p_).shape)
    some = k_ > 0
    a, b, x = np.broadcast_arrays(np.maximum(k_, 1.0), n_ - k_ + 1.0, p_)
    tail = _betainc(a.astype(float), np.maximum(b, 1e-9).astype(float), x.astype(float))
    return np.where(some, np.where(k_ > n_, 0.0, tail), out)


def _levels(levels: Sequence[str]) -> list[str]:
    chosen = [levels] if isinstance(levels, str) else list(levels)
    unknown = [lv for lv in chosen if lv not in LEVELS]
    if unknown or not chosen:
        raise ConfigurationError(f"levels must name some of {list(LEVELS)}, got {levels!r}.")
    return chosen


def _check(alpha: float, min_requests: int) -> None:
    if not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ConfigurationError(f"alpha must be a probability in (0, 1), got {alpha!r}.")
    if isinstance(min_requests, bool) or not isinstance(min_requests, int) or min_requests < 1:
        raise ConfigurationError(f"min_requests must be a positive int, got {min_requests!r}.")


def _group_stats(lf: pl.LazyFrame, levels: list[str], failures: str) -> pl.DataFrame:
    """requests/failures per value of every level, stacked (value as text)."""
    failed = failure_expr(failures)
    parts = []
    for level in levels:
        column = LEVELS[level][0]
        parts.append(lf.filter(pl.col(column).is_not_null())
                     .group_by(pl.col(column).cast(pl.String).alias("value"))
                     .agg(pl.len().cast(pl.Int64).alias("requests"),
                          failed.sum().cast(pl.Int64).alias("failed"))
                     .with_columns(pl.lit(level).alias("level")))
    return pl.concat(pl.collect_all(parts)).select("level", "value", "requests", "failed")


def replacement_plan(
    df: Frame,
    proxies: pl.DataFrame,
    *,
    replaced: pl.DataFrame | None = None,
    levels: Sequence[str] = ("proxy", "subnet", "asn", "country"),
    alpha: float = 0.01,
    min_requests: int = 30,
    failures: str = "proxy",
) -> ReplacementPlan:
    """Proxies, /24s, ASNs or countries failing significantly more than the rest of the pool.

    Parameters
    ----------
    df : activity (enriched or not: it is enriched with *proxies* when it lacks the columns).
    proxies : the current list (:func:`wsframes.load_proxies`): only listed proxies are proposed
        for replacement, and it gives how many proxies each body replaces.
    replaced : past replacements, passed on to :func:`enrich`.
    levels : which groupings to test.
    alpha : the family-wise false-alarm budget of the whole call (Bonferroni).
    min_requests : groups with fewer requests are not tested (and do not use up the budget).
    failures : ``"proxy"`` (default: failures a replacement could fix) or ``"all"``.

    Returns
    -------
    ReplacementPlan
        ``candidates`` with the evidence, ``bodies`` (dry-run JSON), never sent anywhere.
    """
    chosen = _levels(levels)
    _check(alpha, min_requests)
    lf, _ = as_lazy(df, func="replacement_plan")
    require_columns(lf, ["proxy_address", "error_reason"], func="replacement_plan")
    if any(c not in lf.collect_schema() for c in ENRICH_COLUMNS):
        lf = enrich(lf, proxies, replaced)
    stats = _group_stats(lf, chosen, failures)
    totals = stats.filter(pl.col("level") == chosen[0]).select(pl.col("requests", "failed").sum()).row(0)
    tested = stats.filter(pl.col("requests") >= min_requests)
    listed = proxies.filter(pl.col("proxy_address").is_not_null())
    rest_n = totals[0] - tested["requests"].to_numpy()
    rest_x = totals[1] - tested["failed"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rest_rate = np.where(rest_n > 0, rest_x / np.maximum(rest_n, 1), np.nan)
    p = binomial_sf(tested["failed"].to_numpy(), tested["requests"].to_numpy(), np.nan_to_num(rest_rate))
    m = max(tested.height, 1)
    low, high = wilson_interval("failed", "requests")
    evidence = tested.with_columns(
        (pl.col("failed") / pl.col("requests")).alias("error_rate"), low, high,
        pl.Series("rest_error_rate", rest_rate), pl.Series("p_value", p),
        pl.Series("p_adjusted", np.minimum(p * m, 1.0)),
    )
    worse = pl.col("error_rate") > pl.col("rest_error_rate")
    flagged = evidence.filter((pl.col("p_adjusted") < alpha) & worse)
    flagged = flagged.with_columns(_covered(listed, flagged).alias("proxies"))
    flagged = flagged.sort("p_value", "level", "value")
    return ReplacementPlan(flagged, _bodies(flagged, listed), tested.height, float(alpha))


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
