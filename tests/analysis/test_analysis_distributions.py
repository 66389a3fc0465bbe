"""Histogram, CCDF, percentiles over time and service levels against direct computations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from wsframes.analysis import apdex, latency_ccdf, latency_histogram, latency_over_time, slo_attainment
from wsframes.analysis.latency import DEFAULT_EDGES

from .conftest import T0

Builder = Callable[..., pl.DataFrame]


@pytest.fixture(scope="module")
def sample(activity: Builder) -> pl.DataFrame:
    rng = np.random.default_rng(21)
    n = 3000
    hs = np.round(rng.lognormal(-1.8, 0.9, n), 4).tolist()
    for i in range(0, n, 37):
        hs[i] = None
    return activity(
        n,
        timestamp=[T0 + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 3 * 86400, n))],
        handshake_duration=hs,
        request_duration=rng.lognormal(-0.5, 1.0, n).tolist(),
        protocol=rng.choice(["http", "socks"], n).tolist(),
        error_reason=[None if r > 0.1 else "target_connect_unknown_error" for r in rng.random(n)],
    )


def test_histogram_cumulative_share_answers_share_under_a_threshold(sample: pl.DataFrame) -> None:
    out = latency_histogram(sample, by="protocol")
    assert out.columns == ["protocol", "bin_start", "bin_end", "count", "share", "cumulative_share"]
    for (proto,), part in out.group_by("protocol"):
        values = sample.filter(pl.col("protocol") == proto)["handshake_duration"].drop_nulls().to_numpy()
        assert part.height == len(DEFAULT_EDGES) + 1  # every bin, zero counts included
        assert part["count"].sum() == values.size
        under = part.filter(pl.col("bin_end") == 0.2)["cumulative_share"][0]
        assert under == pytest.approx((values < 0.2).mean())
        assert part["cumulative_share"][-1] == pytest.approx(1.0)


def test_histogram_with_a_number_of_bins_spans_the_data(sample: pl.DataFrame) -> None:
    out = latency_histogram(sample, bins=12)
    values = sample["handshake_duration"].drop_nulls()
    inner = out.filter(pl.col("bin_start").is_not_null() & pl.col("bin_end").is_not_null())
    assert inner.height == 12 and inner["count"].sum() == values.len()
    assert inner["bin_start"][0] == pytest.approx(values.min())


def test_ccdf_is_the_exact_percentile_spectrum(sample: pl.DataFrame) -> None:
    out = latency_ccdf(sample, metric="request_duration", quantiles=(0.5, 0.99, 0.9999))
    values = sample["request_duration"].to_numpy()
    np.testing.assert_array_equal(out["value"].to_numpy(), np.quantile(values, [0.5, 0.99, 0.9999]))
    assert out["exceedance"].to_list() == pytest.approx([0.5, 0.01, 0.0001])


def test_percentiles_over_time_match_numpy_per_local_day(sample: pl.DataFrame) -> None:
    tz = "America/Los_Angeles"
    out = latency_over_time(sample, every="1d", tz=tz, quantiles=(0.5, 0.95))
    local_day = pl.col("timestamp").dt.convert_time_zone(tz).dt.date()
    assert out["time"].dt.hour().to_list() == [0] * out.height  # local midnights
    for row in out.iter_rows(named=True):
        day = sample.filter(local_day == row["time"].date())["handshake_duration"].drop_nulls().to_numpy()
        assert row["count"] == day.size
        np.testing.assert_array_equal([row["p50"], row["p95"]], np.quantile(day, [0.5, 0.95]))


def test_slo_attainment_and_apdex_by_hand(sample: pl.DataFrame) -> None:
    hs = sample["handshake_duration"].drop_nulls().to_numpy()
    slo = slo_attainment(sample, threshold=timedelta(milliseconds=150)).row(0, named=True)
    assert (slo["count"], slo["within"]) == (hs.size, int((hs <= 0.15).sum()))
    assert slo["ci_low"] < slo["attainment"] < slo["ci_high"]
    ok = sample.filter(pl.col("error_reason").is_null())["request_duration"].to_numpy()
    score = apdex(sample, threshold=0.5).row(0, named=True)
    satisfied, tolerating = (ok <= 0.5).sum(), ((ok > 0.5) & (ok <= 2.0)).sum()
    assert (score["satisfied"], score["tolerating"]) == (satisfied, tolerating)
    assert score["frustrated"] == sample.height - satisfied - tolerating  # failures included
    assert score["apdex"] == pytest.approx((satisfied + tolerating / 2) / sample.height)
