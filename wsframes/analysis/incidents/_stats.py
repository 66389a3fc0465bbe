"""The tests behind :func:`~wsframes.analysis.find_incidents`: exact counts, overdispersion, BH.

Every (bucket, segment, metric) cell is one hypothesis "this bucket's rate equals the segment's
usual rate". Under it, the cell's events given the pooled total follow a hypergeometric law
(Fisher's exact test of the bucket against its reference), which is exact for any segment size:
small segments simply cannot reach significance, the funnel-plot behaviour. Requests arrive in
bursts (one client, one target), so counts of broad segments vary more than a binomial law says;
the variance inflation ``phi`` of each dimension is estimated robustly from the cells themselves
and the counts are divided by it (the quasi-binomial "effective sample size" of Spiegelhalter,
Stat. Med. 2005). Benjamini-Hochberg (1995) then controls false discoveries over every cell.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl
from scipy.stats import hypergeom

#: Median of a chi-square with one degree of freedom: median(z**2) / this estimates phi.
_CHI2_MEDIAN = 0.454936
#: Cells with fewer requests are not tested (they could never be significant anyway).
MIN_CELL_REQUESTS = 5


def reference(units: pl.DataFrame, baseline: pl.DataFrame | None) -> pl.DataFrame:
    """Add each cell's reference counts ``K0``/``N0`` (events ``k``, trials ``n``).

    With a *baseline* (cells with ``k``) the reference is its pooled counts of the same segment;
    without one it is the rest of the period: the segment's buckets outside the cell.
    Both frames carry the segment id ``sid`` of *units*. Two columns are added, aligned with the
    cells: a join of every cell would copy them all.
    """
    if baseline is not None:
        pooled = (
            baseline.join(units.select("dimension", "value", "sid").unique(), on=["dimension", "value"])
            .group_by("sid")
            .agg(pl.col("k").sum().alias("K0"), pl.col("n").sum().alias("N0"))
        )
        ref = units.select("sid").join(pooled, on="sid", how="left", maintain_order="left")
        return units.with_columns(ref["K0"].fill_null(0), ref["N0"].fill_null(0))
    return units.with_columns(
        K0=pl.col("k").sum().over("sid") - pl.col("k"), N0=pl.col("n").sum().over("sid") - pl.col("n")
    )


def squared_z(cells: pl.LazyFrame) -> pl.LazyFrame:
    """``dimension, z2``: each well-filled cell's squared z-score, what :func:`dispersion` reads."""
    p0 = pl.col("K0") / pl.col("N0")
    e = pl.col("n") * p0
    z2 = (pl.col("k") - e) ** 2 / (e * (1 - p0))
    filled = (pl.col("N0") > 0) & (e >= 2) & (pl.col("n") * (1 - p0) >= 2)
    # Lazy: only the columns read here are filtered, not every column of the cells.
    return cells.filter(filled).select("dimension", z2.alias("z2"))


def dispersion(z2: pl.DataFrame, dimensions: Iterable[str]) -> dict[str, float]:
    """Variance inflation per dimension: ``median(z**2) / 0.455`` over the well-filled cells'
    :func:`squared_z`, >= 1, for each of *dimensions*."""
    phi = (pl.col("z2").median() / _CHI2_MEDIAN).alias("phi")
    per = z2.group_by("dimension").agg(phi, pl.len().alias("cells"))
    enough = {d: max(1.0, float(phi)) for d, phi, m in per.iter_rows() if m >= 30}
    # A dimension with too few filled cells borrows the worst estimate seen (never below 1).
    fallback = max(enough.values(), default=1.0)
    return {d: enough.get(d, fallback) for d in dimensions}


def p_values(windows: pl.LazyFrame, phi: dict[str, float], effect: pl.Expr) -> pl.DataFrame:
    """Exact one-sided p-values of the windows showing the minimum *effect*.

    Windows without the effect would get a p-value near 1: they still count among the hypotheses
    (the caller counts them, so Benjamini-Hochberg stays valid) but need no computing.
    """
    testable = windows.filter((pl.col("n") >= MIN_CELL_REQUESTS) & (pl.col("N0") > 0)).with_columns(
        expected=pl.col("n") * pl.col("K0") / pl.col("N0")
    )
    return _exact(testable.filter(effect).collect(), phi)


def _exact(testable: pl.DataFrame, phi: dict[str, float]) -> pl.DataFrame:
    scale = testable["dimension"].replace_strict(phi, return_dtype=pl.Float64).to_numpy()
    k, n = testable["k"].to_numpy(), testable["n"].to_numpy()
    k0, n0 = testable["K0"].to_numpy(), testable["N0"].to_numpy()
    # Effective counts: the same rates on 1/phi as many independent requests.
    ke, ne = np.rint(k / scale), np.maximum(np.rint(n / scale), 1)
    k0e, n0e = np.rint(k0 / scale), np.maximum(np.rint(n0 / scale), 1)
    p = hypergeom.sf(ke - 1, n0e + ne, k0e + ke, ne)
    return testable.with_columns(p=pl.Series(np.clip(p, 0.0, 1.0), dtype=pl.Float64))


def benjamini_hochberg(p: np.ndarray, m: int) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of *p*, the smallest of *m* p-values.

    The hypotheses not in *p* have larger p-values, so they only enter through *m*.
    """
    if len(p) == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, len(p) + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(len(p))
    out[order] = np.minimum(adjusted, 1.0)
    return out
