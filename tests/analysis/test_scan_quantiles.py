"""Exact quantiles of a scan in two bounded passes: Polars' own numbers, to the bit."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from wsframes.analysis import _quantile, latency_ccdf, latency_over_time, pool_health, top_offenders
from wsframes.analysis import pool as pool_module
from wsframes.analysis._quantile import scan_quantile_table, scan_quantiles

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


def _grouped_frame(seed: int) -> pl.DataFrame:
    """Groups of every size (one row, all null, big), a null key; values with NaN, ties, zeros, negatives."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60_000))
    g = np.minimum(rng.zipf(1.3, n), 300)  # a few big groups and many of one or two rows
    v = rng.lognormal(0, 2, n) * np.where(rng.random(n) < 0.1, -1, 1)
    v = np.where(rng.random(n) < 0.05, 0.0, np.where(rng.random(n) < 0.05, np.nan, v))
    v = np.round(v, 2) if seed % 2 else v
    return pl.DataFrame(
        {"g": g, "k": rng.choice(["a", "b", None], n), "v": v, "hole": rng.random(n) < 0.2}
    ).select("g", "k", "v", w=pl.when(~pl.col("hole") & (pl.col("g") != 7)).then(pl.col("v") * 3))


def _numpy_quantiles(s: pl.Series) -> pl.Series:
    values = s.drop_nulls().to_numpy()
    out = np.quantile(values, QS) if values.size else np.full(len(QS), np.nan)
    return pl.Series([out], dtype=pl.Array(pl.Float64, len(QS)))


def _expected(df: pl.DataFrame, by: list[str], interpolation: str) -> pl.DataFrame:
    """Polars' own per-group quantile; for "numpy", numpy.quantile of each group."""
    if interpolation == "numpy":
        arrays = [
            pl.col(c).fill_nan(None).map_batches(_numpy_quantiles, returns_scalar=True).alias(f"_{c}")
            for c in ("v", "w")
        ]
        counts = [pl.col(c).fill_nan(None).count().cast(pl.UInt32).alias(f"{c}:count") for c in ("v", "w")]
        frame = (
            df.group_by(by).agg(*counts, *arrays)
            if by
            else df.select(*counts, *arrays).filter(pl.lit(df.height > 0))
        )
        return frame.select(
            *by,
            *(
                e
                for c in ("v", "w")
                for e in (
                    pl.col(f"{c}:count"),
                    *(pl.col(f"_{c}").arr.get(i).fill_nan(None).alias(f"{c}:q{i}") for i in range(len(QS))),
                )
            ),
        )
    aggs = [
        e
        for c in ("v", "w")
        for e in (
            pl.col(c).fill_nan(None).count().cast(pl.UInt32).alias(f"{c}:count"),
            *(
                pl.col(c).fill_nan(None).quantile(q, interpolation).alias(f"{c}:q{i}")
                for i, q in enumerate(QS)
            ),  # type: ignore[arg-type]
        )
    ]
    return df.group_by(by).agg(aggs) if by else df.select(aggs).filter(pl.lit(df.height > 0))


@pytest.mark.parametrize("interpolation", ["linear", "nearest", "numpy"])
@pytest.mark.parametrize("seed", range(4))
def test_grouped_the_same_numbers_as_polars_group_by_quantile(seed: int, interpolation: str) -> None:
    df = _grouped_frame(seed)
    for by in (["g"], ["g", "k"], []):
        got = scan_quantile_table(df.lazy(), {"v": QS, "w": QS}, by=by, interpolation=interpolation)  # type: ignore[arg-type]
        want = _expected(df, by, interpolation)
        assert_frame_equal(got.sort(by, nulls_last=True), want.sort(by, nulls_last=True), check_exact=True)


def test_grouped_by_expressions_and_an_empty_frame() -> None:
    df = _grouped_frame(9)
    by = [(pl.col("g") % 3).alias("third")]
    got = scan_quantile_table(df.lazy(), {"v": QS, "w": QS}, by=by)
    assert_frame_equal(
        got.sort("third"), _expected(df.with_columns(by), ["third"], "linear").sort("third"), check_exact=True
    )
    empty = scan_quantile_table(df.clear().lazy(), {"v": QS}, by=["g"])
    assert empty.height == 0 and empty.columns == ["g", "v:count", *(f"v:q{i}" for i in range(len(QS)))]


@pytest.mark.parametrize("interpolation", ["linear", "numpy"])
def test_buckets_that_overlap_fall_back_to_polars(
    monkeypatch: pytest.MonkeyPatch, interpolation: str
) -> None:
    # A bucket number that is not monotone in the value: the bucket ranges overlap, so the
    # order statistics cannot be located from the counts; Polars' own quantile answers.
    monkeypatch.setattr(
        _quantile, "BUCKET", ((pl.col("x") * 1000).cast(pl.Int64, strict=False) % 7).alias("bucket")
    )
    df = _grouped_frame(3)
    got = scan_quantile_table(df.lazy(), {"v": QS, "w": QS}, by=["g"], interpolation=interpolation)  # type: ignore[arg-type]
    assert_frame_equal(got.sort("g"), _expected(df, ["g"], interpolation).sort("g"), check_exact=True)


def test_pool_health_of_a_scan_falls_back_when_buckets_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    # The two-pass route reads the pool's p95 and the groups' quantiles off the buckets; with
    # buckets that cannot serve it takes the passes that do not need them, and the same numbers.
    overlapping = ((pl.col("x") * 1000).cast(pl.Int64, strict=False) % 7).alias("bucket")
    monkeypatch.setattr(_quantile, "BUCKET", overlapping)
    monkeypatch.setattr(pool_module, "BUCKET", overlapping)
    df = _activity(5)
    assert_frame_equal(pool_health(df.lazy()).collect(), pool_health(df), check_exact=True)


@pytest.mark.parametrize(
    "edit",
    [
        pl.lit("refused").cast(pl.Categorical).alias("error_reason"),  # nothing timed: no pool p95
        pl.lit(None, pl.Categorical).alias("proxy_address"),  # no pool: every row unkeyed
        pl.lit(0.5).alias("request_duration"),  # every value ties at the p95: none is above it
    ],
)
def test_pool_health_of_a_scan_on_edges(edit: pl.Expr) -> None:
    df = _activity(1).with_columns(edit)
    assert_frame_equal(
        pool_health(df.lazy(), min_requests=1).collect(), pool_health(df, min_requests=1), check_exact=True
    )


def _activity(seed: int) -> pl.DataFrame:
    """Three days of requests: NaN and null durations, failures, 40 proxies and rows without one."""
    rng = np.random.default_rng(seed)
    n = 30_000
    start = np.datetime64("2026-10-01T00:00:00", "us")
    duration = np.round(rng.lognormal(-1, 1, n), 3)
    proxy = [f"10.0.0.{i}" if i < 40 else None for i in rng.integers(0, 50, n)]
    return pl.DataFrame(
        {
            "timestamp": start + rng.integers(0, 3 * 86_400_000_000, n).astype("timedelta64[us]"),
            "request_duration": np.where(rng.random(n) < 0.03, np.nan, duration),
            "handshake_duration": pl.Series(duration / 3).scatter(np.flatnonzero(rng.random(n) < 0.05), None),
            "error_reason": ["connection_refused" if f else None for f in rng.random(n) < 0.07],
            "bytes": rng.integers(0, 10_000, n),
            "proxy_address": proxy,
        }
    ).with_columns(
        pl.col("timestamp").dt.replace_time_zone("UTC"),
        pl.col("error_reason", "proxy_address").cast(pl.Categorical),
    )


@pytest.mark.parametrize("seed", range(2))
def test_sections_read_from_a_scan_give_the_in_memory_numbers(seed: int) -> None:
    # A lazy input takes scan_quantile_table; an eager one the in-memory kernels: same figures,
    # the held rules (min_tail, min_points) included.
    df = _activity(seed)
    for section in (
        lambda f: latency_ccdf(f, metric="request_duration"),
        lambda f: latency_ccdf(f, metric="handshake_duration", by="proxy_address"),
        lambda f: latency_over_time(f, every="1h", metric="request_duration"),
        lambda f: latency_over_time(
            f, every="6h", metric="handshake_duration", by="proxy_address", min_tail=0
        ),
        lambda f: pool_health(f, min_requests=5),
        lambda f: pool_health(f, failures="proxy", metric="handshake_duration"),
        lambda f: pool_health(
            f, by=pl.col("proxy_address").cast(pl.String).str.slice(0, 8), metric="handshake_duration"
        ),
        lambda f: top_offenders(f, by="proxy_address", n=None),  # the null proxy is a row too
        lambda f: top_offenders(f, by="proxy_address", n=5, sort_by="p95", metric="handshake_duration"),
        # the p95s of only the proxies that can rank among the first 3 (ties at the edge kept)
        lambda f: top_offenders(f, by="proxy_address", n=3, sort_by="failed"),
        lambda f: top_offenders(f, by="proxy_address", n=3, sort_by="error_rate", min_requests=20),
        lambda f: top_offenders(f, by=["proxy_address", "outcome"], n=4, sort_by="requests"),  # two keys
    ):
        eager = section(df)
        assert eager.height
        assert_frame_equal(section(df.lazy()).collect(engine="streaming"), eager, check_exact=True)
        assert_frame_equal(section(df.clear().lazy()).collect(), section(df.clear()), check_exact=True)
