"""Traffic over time, the weekly profile, bandwidth and estimated concurrency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsframes.analysis import bandwidth_by, estimated_concurrency, hourly_profile, traffic_over_time

from .conftest import T0

Builder = Callable[..., pl.DataFrame]


def test_traffic_over_time_sums_requests_failures_and_bytes(activity: Builder) -> None:
    ts = [T0, T0 + timedelta(minutes=59), T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=1)]
    df = activity(timestamp=ts, bytes=[1, 2, 3, 2**40], error_reason=[None, "x", None, None])
    out = traffic_over_time(df, every="1h")
    assert out.columns == ["time", "requests", "failed", "bytes"]
    assert out.select("requests", "failed", "bytes").rows() == [(2, 1, 3), (2, 0, 3 + 2**40)]


def test_daily_buckets_start_at_local_midnight(activity: Builder) -> None:
    # 23:30 UTC on Monday is 00:30 Tuesday in Berlin (UTC+1 in November).
    df = activity(timestamp=[T0 + timedelta(hours=23, minutes=30)])
    out = traffic_over_time(df, every="1d", tz="Europe/Berlin")
    assert str(out["time"].dtype) == "Datetime(time_unit='us', time_zone='Europe/Berlin')"
    assert out["time"][0].isoformat() == "2026-11-03T00:00:00+01:00"


def test_hourly_profile_has_all_168_cells_in_local_time(activity: Builder) -> None:
    # Monday 00:10 UTC is Sunday 19:10 in New York (UTC-5).
    df = activity(timestamp=[T0 + timedelta(minutes=10)] * 3, error_reason=[None, None, "x"])
    out = hourly_profile(df, tz="America/New_York")
    assert out.height == 168 and out["requests"].sum() == 3
    hit = out.filter(pl.col("requests") > 0).row(0, named=True)
    assert (hit["weekday"], hit["weekday_name"], hit["hour"], hit["failed"]) == (7, "Sun", 19, 1)
    assert hit["error_rate"] == pytest.approx(1 / 3)
    assert out.filter(pl.col("requests") == 0)["error_rate"].null_count() == 167


def test_bandwidth_by_orders_by_bytes_with_cumulative_share(activity: Builder) -> None:
    df = activity(domain=["a.com", "b.com", "b.com", "c.com"], bytes=[10, 30, 30, 30])
    out = bandwidth_by(df)
    assert out["domain"].cast(pl.String).to_list() == ["b.com", "c.com", "a.com"]
    assert out["share"].to_list() == pytest.approx([0.6, 0.3, 0.1])
    assert out["cumulative_share"].to_list() == pytest.approx([0.6, 0.9, 1.0])
    assert out["mean_bytes"][0] == 30


def test_concurrency_by_hand(activity: Builder) -> None:
    # A: [30 s, 90 s), B: [50 s, 55 s) -> minute 0 holds 35 request-seconds, minute 1 holds 30.
    df = activity(
        timestamp=[T0 + timedelta(seconds=30), T0 + timedelta(seconds=50)], request_duration=[60.0, 5.0]
    )
    out = estimated_concurrency(df, every="1m")
    assert out.select("started", "peak_concurrency").rows() == [(2, 2), (0, 1)]
    assert out["mean_concurrency"].to_list() == pytest.approx([35 / 60, 30 / 60])


def test_mean_concurrency_matches_a_brute_force_count(activity: Builder) -> None:
    rng = np.random.default_rng(11)
    n = 300
    starts = np.sort(rng.integers(0, 600, n))  # whole seconds in the first 10 minutes
    durations = rng.integers(0, 200, n)
    df = activity(
        timestamp=[T0 + timedelta(seconds=int(s)) for s in starts],
        request_duration=durations.astype(float).tolist(),
    )
    out = estimated_concurrency(df, every="1m")
    in_flight = np.zeros(1020)  # per second, 17 whole minutes
    for s, d in zip(starts, durations, strict=True):
        in_flight[s : s + d] += 1
    expected = in_flight.reshape(-1, 60).mean(axis=1)
    got = dict(
        zip(((t - T0).total_seconds() // 60 for t in out["time"]), out["mean_concurrency"], strict=True)
    )
    for minute, value in enumerate(expected):
        assert got.get(minute, 0.0) == pytest.approx(value)
    assert out["started"].sum() == n
    peaks = dict(
        zip(((t - T0).total_seconds() // 60 for t in out["time"]), out["peak_concurrency"], strict=True)
    )
    for minute in range(10):
        assert peaks[minute] == in_flight[minute * 60 : minute * 60 + 60].max()


def test_the_repeated_hour_when_daylight_saving_ends_stays_two_buckets(activity: Builder) -> None:
    # Berlin goes from CEST (+2) to CET (+1) at 01:00 UTC on 2026-10-25: 02:00-03:00 local happens twice.
    start = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    df = activity(
        timestamp=[start + timedelta(minutes=10 * i) for i in range(24)], request_duration=[1.0] * 24
    )
    for out in (
        traffic_over_time(df, every="1h", tz="Europe/Berlin"),
        estimated_concurrency(df, every="1h", tz="Europe/Berlin"),
    ):
        labels = [t.strftime("%H:%M%z") for t in out["time"]]
        assert labels == ["01:00+0200", "02:00+0200", "02:00+0100", "03:00+0100"]
    assert estimated_concurrency(df, every="1h", tz="Europe/Berlin")["peak_concurrency"].to_list() == [1] * 4


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 40 * 86400), min_size=1, max_size=60),
    st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns"]),
    st.sampled_from(["15m", "1h", "1d", "1w"]),
)
def test_buckets_partition_the_requests_in_any_zone(
    activity: Builder, seconds: list[int], tz: str, every: str
) -> None:
    df = activity(
        timestamp=[T0 + timedelta(seconds=s) for s in seconds],
        bytes=[s % 1000 for s in seconds],
        error_reason=[None if s % 3 else "x" for s in seconds],
    )
    out = traffic_over_time(df, every=every, tz=tz)
    assert out["requests"].sum() == df.height and out["bytes"].sum() == df["bytes"].sum()
    assert out["failed"].sum() == df["error_reason"].is_not_null().sum()
    assert out["time"].is_sorted() and out["time"].n_unique() == out.height
    local = df["timestamp"].dt.convert_time_zone(tz)
    assert (out["time"].min() <= local.min()) and (out["time"].max() <= local.max())


def test_traffic_lists_quiet_buckets_with_zeros(activity: Builder) -> None:
    ts = [T0, T0 + timedelta(hours=3, minutes=5)]
    df = activity(timestamp=ts, domain=["a.com", "b.com"], bytes=[5, 7])
    filled = traffic_over_time(df, every="1h")
    assert filled.select("requests", "bytes").rows() == [(1, 5), (0, 0), (0, 0), (1, 7)]
    assert [(t - T0).total_seconds() / 3600 for t in filled["time"]] == [0, 1, 2, 3]
    per_domain = traffic_over_time(df, every="1h", by="domain")
    assert per_domain.height == 8 and per_domain["requests"].sum() == 2  # every hour for each domain
    assert traffic_over_time(df, every="1h", fill_gaps=False).height == 2
