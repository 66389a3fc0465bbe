"""Exact quantiles of a scan in two bounded passes: Polars' own numbers, to the bit."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from wsframes.analysis._quantile import scan_quantiles

QS = (0.0, 0.01, 0.3333, 0.5, 0.95, 0.99, 0.999, 1.0)


@pytest.mark.parametrize("interpolation", ["linear", "nearest"])
@pytest.mark.parametrize("seed", range(6))
def test_the_same_numbers_as_polars_quantile(seed: int, interpolation: str) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200_000))
    values = rng.lognormal(0, 2, n)
    values = np.round(values, 1) if seed % 2 else values - 3 * (seed % 3 == 0)  # ties; negatives
    df = pl.DataFrame({"v": values, "hole": rng.random(n) < 0.2}).select(
        "v", w=pl.when(~pl.col("hole")).then(pl.col("v") * 7), i=(pl.col("v") * 100).cast(pl.Int64)
    )
    got = scan_quantiles(df.lazy(), dict.fromkeys(df.columns, QS), interpolation=interpolation)  # type: ignore[arg-type]
    for column in df.columns:
        assert got[column] == [
            df[column].cast(pl.Float64).quantile(q, interpolation=interpolation) for q in QS
        ]  # type: ignore[arg-type]


def test_no_values_give_none() -> None:
    empty = pl.LazyFrame({"v": [None, None]}, schema={"v": pl.Float64})
    assert scan_quantiles(empty, {"v": (0.5, 0.95)}) == {"v": [None, None]}
