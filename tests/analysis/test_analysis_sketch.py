"""The DDSketch option: stated error bound against exact quantiles, exact merging."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from wsframes.analysis import QuantileSketch, latency_summary
from wsframes.errors import ConfigurationError

Builder = Callable[..., pl.DataFrame]
QS = (0.0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0)


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.001])
def test_sketch_quantiles_within_relative_error_of_numpy_lower(alpha: float) -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.lognormal(-2, 1.5, 20_000), rng.pareto(1.2, 2_000) + 0.5])
    sketch = QuantileSketch.from_values(values, alpha=alpha)
    exact = np.quantile(values, QS, method="lower")
    got = np.array([sketch.quantile(q) for q in QS])
    assert np.all(np.abs(got - exact) <= alpha * exact * (1 + 1e-9))


def test_merge_equals_sketch_of_concatenation() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.lognormal(0, 1, 1000), rng.lognormal(1, 1, 3000)
    merged = QuantileSketch.from_values(a).merge(QuantileSketch.from_values(b))
    assert merged == QuantileSketch.from_values(np.concatenate([a, b]))
    assert merged.count == 4000


def test_zero_nulls_and_bad_input() -> None:
    s = QuantileSketch.from_values([0.0, 0.0, None, 2.0])
    assert (s.count, s.quantile(0.5), s.quantile(1.0)) == (3, 0.0, pytest.approx(2.0, rel=0.01))
    assert np.isnan(QuantileSketch().quantile(0.5))
    with pytest.raises(ConfigurationError, match="non-negative"):
        QuantileSketch.from_values([-1.0])
    with pytest.raises(ConfigurationError, match="alpha"):
        QuantileSketch.from_values([1.0]).merge(QuantileSketch.from_values([1.0], alpha=0.02))


def test_summary_sketch_method_agrees_with_the_class_and_the_bound(activity: Builder) -> None:
    rng = np.random.default_rng(5)
    n = 5000
    hs = rng.lognormal(-2, 1, n)
    domains = rng.choice(["a.com", "b.com"], n).tolist()
    df = activity(n, handshake_duration=hs.tolist(), domain=domains)
    out = latency_summary(df, by="domain", metrics="handshake_duration", method="sketch", alpha=0.01)
    for row in out.iter_rows(named=True):
        vals = hs[np.array(domains) == row["domain"]]
        sketch = QuantileSketch.from_values(vals, alpha=0.01)
        for q, col in ((0.5, "p50"), (0.99, "p99"), (0.999, "p99.9")):
            assert row[col] == pytest.approx(sketch.quantile(q), rel=1e-9)
            exact = np.quantile(vals, q, method="lower")
            assert abs(row[col] - exact) <= 0.01 * exact * (1 + 1e-9)
        assert row["count"] == vals.size and row["max"] == vals.max()
