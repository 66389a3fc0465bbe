"""An approximate, mergeable quantile sketch (DDSketch, Masson, Rim & Lee, VLDB 2019).

Values are counted in logarithmic buckets ``(gamma**(k-1), gamma**k]`` with
``gamma = (1 + alpha) / (1 - alpha)``; a bucket is reported as ``2 * gamma**k / (gamma + 1)``.

Error bound
-----------
For a non-negative value set, the quantile ``q`` estimate is within relative error ``alpha`` of
the exact order statistic of rank ``floor(q * (n - 1))`` (NumPy's ``method="lower"``): for that
value ``x``, ``abs(estimate - x) <= alpha * x``. Values at or below :data:`MIN_VALUE` (1 ns) are
counted as zero and reported as 0. Sketches merge by adding bucket counts, so per-day or per-file
sketches combine into the sketch of the whole range exactly, which is what makes them worth
having for long ranges; memory is one count per occupied bucket (a few hundred for latencies).

>>> s = QuantileSketch.from_values([0.1, 0.2, 0.3, 0.4], alpha=0.01)
>>> t = QuantileSketch.from_values([0.5], alpha=0.01)
>>> merged = s.merge(t)
>>> merged.count, round(merged.quantile(0.5), 2)
(5, 0.3)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from wsframes.errors import ConfigurationError

__all__ = ["MIN_VALUE", "QuantileSketch", "sketch_index", "sketch_quantiles"]

#: Values at or below this (seconds) are counted in the zero bucket.
MIN_VALUE = 1e-9
_ZERO_KEY = -(2**31)


def _gamma(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ConfigurationError(
            f"alpha={alpha!r} must be a relative error strictly between 0 and 1, e.g. 0.01."
        )
    return (1 + alpha) / (1 - alpha)


def sketch_index(expr: str | pl.Expr, *, alpha: float = 0.01) -> pl.Expr:
    """The DDSketch bucket of each value (Int32); values <= 1 ns go to a zero bucket."""
    x = (pl.col(expr) if isinstance(expr, str) else expr).cast(pl.Float64)
    log_gamma = math.log(_gamma(alpha))
    return (
        pl.when(x > MIN_VALUE)
        .then((x.log() / log_gamma).ceil().cast(pl.Int32))
        .when(x >= 0)
        .then(pl.lit(_ZERO_KEY, dtype=pl.Int32))
        .otherwise(None)
    )


def _bucket_value(key: pl.Expr, alpha: float) -> pl.Expr:
    gamma = _gamma(alpha)
    return pl.when(key == _ZERO_KEY).then(0.0).otherwise(2 * pl.lit(gamma).pow(key) / (gamma + 1))


def sketch_quantiles(
    lf: pl.LazyFrame,
    keys: Sequence[str],
    metric: str,
    quantiles: Sequence[float],
    names: Sequence[str],
    *,
    alpha: float = 0.01,
) -> pl.LazyFrame:
    """Per group of *keys*: approximate quantiles of *metric*, one column per entry of *names*.

    Negative values and nulls are ignored. Groups with no values get nulls.
    """
    counted = (
        lf.select(*[pl.col(k) for k in keys], sketch_index(metric, alpha=alpha).alias("_key"))
        .group_by(*keys, "_key")
        .agg(pl.len().alias("_count"))
    )
    present = counted.filter(pl.col("_key").is_not_null())
    key_sorted = pl.col("_key").sort()
    cum = pl.col("_count").sort_by("_key").cum_sum()
    total = pl.col("_count").sum()
    aggs = [
        key_sorted.filter(cum > q * (total - 1)).first().alias(name)
        for q, name in zip(quantiles, names, strict=True)
    ]
    out = present.group_by(*keys).agg(aggs) if keys else present.select(aggs)
    return out.with_columns(_bucket_value(pl.col(n), alpha).alias(n) for n in names)


@dataclass(frozen=True)
class QuantileSketch:
    """A DDSketch of non-negative values: bucket counts keyed by log-bucket index.

    Build with :meth:`from_values`, combine with :meth:`merge`, read with :meth:`quantile`.
    """

    alpha: float = 0.01
    buckets: dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_values(
        cls, values: Iterable[float] | np.ndarray | pl.Series, *, alpha: float = 0.01
    ) -> QuantileSketch:
        """Sketch *values* (nulls and NaN skipped; negative values are an error)."""
        gamma = _gamma(alpha)
        arr = np.asarray(
            pl.Series(values, dtype=pl.Float64).drop_nulls().fill_nan(None).drop_nulls().to_numpy()
        )
        if (arr < 0).any():
            raise ConfigurationError(
                "QuantileSketch holds non-negative values (durations); got a negative one."
            )
        keys = np.full(arr.shape, _ZERO_KEY, dtype=np.int64)
        positive = arr > MIN_VALUE
        keys[positive] = np.ceil(np.log(arr[positive]) / math.log(gamma)).astype(np.int64)
        uniq, counts = np.unique(keys, return_counts=True)
        return cls(alpha, {int(k): int(c) for k, c in zip(uniq, counts, strict=True)})

    @property
    def count(self) -> int:
        """Number of values sketched."""
        return sum(self.buckets.values())

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """The sketch of both value sets (exact: bucket counts add)."""
        if other.alpha != self.alpha:
            raise ConfigurationError(
                f"cannot merge sketches with alpha {self.alpha} and {other.alpha}; use one alpha."
            )
        merged = dict(self.buckets)
        for key, n in other.buckets.items():
            merged[key] = merged.get(key, 0) + n
        return QuantileSketch(self.alpha, merged)

    def quantile(self, q: float) -> float:
        """Estimate of quantile *q* (NaN when empty); see the module docstring for the bound."""
        if not 0 <= q <= 1:
            raise ConfigurationError(f"q={q!r} must be between 0 and 1.")
        n = self.count
        if n == 0:
            return math.nan
        rank = q * (n - 1)
        seen = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen > rank:
                return 0.0 if key == _ZERO_KEY else 2 * _gamma(self.alpha) ** key / (_gamma(self.alpha) + 1)
        raise AssertionError("unreachable: cumulative count reaches n")  # pragma: no cover
