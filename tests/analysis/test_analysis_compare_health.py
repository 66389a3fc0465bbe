"""Period comparison (z-test, churn), proxy health and the hours find_incidents flags."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

import polars as pl
import pytest

from wsframes.analysis import compare_periods, find_incidents, pool_health
from wsframes.analysis.compare import two_proportion_p_value

from .conftest import T0

Builder = Callable[..., pl.DataFrame]


def test_p_value_of_known_z_scores() -> None:
    z = pl.DataFrame({"z": [1.959963984540054, 0.0, -2.5758293035489, None]})
    got = z.select(two_proportion_p_value(pl.col("z"))).to_series()
    assert got.to_list()[:3] == pytest.approx([0.05, 1.0, 0.01])
    assert got[3] is None


def test_success_rate_change_and_z_by_hand(activity: Builder) -> None:
    before = activity(error_reason=[None] * 80 + ["x"] * 20, handshake_duration=[0.1] * 100)
    after = activity(error_reason=[None] * 180 + ["x"] * 20, handshake_duration=[0.2] * 200)
    s = compare_periods(before, after).summary.row(0, named=True)
    pooled = 260 / 300
    z = (0.9 - 0.8) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 200))
    assert (s["requests_before"], s["requests_after"], s["volume_change"]) == (100, 200, 1.0)
    assert s["success_rate_change"] == pytest.approx(0.1)
    assert s["z"] == pytest.approx(z)
    assert s["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert s["significant"] is (s["p_value"] < 0.05)


def test_latency_error_codes_and_churn(activity: Builder) -> None:
    before = activity(
        error_reason=[None, "bandwidthlimit", "old_code", None],
        domain=["keep.com", "keep.com", "gone.com", "gone.com"],
        handshake_duration=[0.1, 0.1, 0.1, 0.1],
    )
    after = activity(
        error_reason=[None, "bandwidthlimit", "new_code", None],
        domain=["keep.com", "keep.com", "new.com", "keep.com"],
        handshake_duration=[0.2, 0.2, 0.2, 0.2],
    )
    c = compare_periods(before, after, quantiles=(0.5,))
    assert c.latency.select("p50_before", "p50_after").row(0) == (0.1, 0.2)
    assert c.latency["p50_change"][0] == pytest.approx(1.0)
    codes = {r["error_reason"]: r for r in c.error_codes.iter_rows(named=True)}
    assert codes["old_code"]["count_after"] == 0 and codes["new_code"]["category"] == "unknown"
    assert codes["bandwidthlimit"]["share_change"] == 0
    churn = set(c.changes.select("kind", "value", "status").iter_rows())
    assert churn == {
        ("error_reason", "new_code", "appeared"),
        ("error_reason", "old_code", "vanished"),
        ("domain", "new.com", "appeared"),
        ("domain", "gone.com", "vanished"),
    }


def test_pool_health_flags_only_a_proxy_worse_beyond_chance(activity: Builder) -> None:
    proxies = ["bad"] * 100 + ["ok"] * 400 + ["tiny"] * 3
    errors = ["x"] * 40 + [None] * 60 + ["x"] * 20 + [None] * 380 + ["x"] * 3
    out = pool_health(activity(proxy_address=proxies, error_reason=errors), min_requests=20)
    assert out.select("proxy_address", "verdict").rows() == [
        ("bad", "worse than pool"),
        ("ok", "better than pool"),
        ("tiny", "insufficient data"),  # 100 % failures, but 3 requests are no evidence: last
    ]
    assert out["pool_error_rate"][0] == pytest.approx(63 / 503)


def _hours(activity: Builder, rates: list[float], volumes: list[int], slow: set[int]) -> pl.DataFrame:
    ts, errors, hs = [], [], []
    for hour, (rate, n) in enumerate(zip(rates, volumes, strict=True)):
        failed = round(rate * n)
        ts += [T0 + timedelta(hours=hour, seconds=i) for i in range(n)]
        errors += ["x"] * failed + [None] * (n - failed)
        hs += [(1.0 if hour in slow else 0.1) + i * 1e-4 for i in range(n)]
    return activity(timestamp=ts, error_reason=errors, handshake_duration=hs)


def test_find_incidents_flags_a_failing_hour_and_a_slow_one_but_not_a_tiny_one(activity: Builder) -> None:
    # What anomalous_hours used to do, now the one verb for the job (issue 18 item 9).
    rates = [0.05, 0.06, 0.04, 0.05, 0.30, 0.05, 0.06, 0.05, 0.9, 0.05]
    volumes = [200] * 8 + [4, 200]  # hour 8: 3 of 4 failed, but 4 requests prove nothing
    out = find_incidents(_hours(activity, rates, volumes, slow={6}))
    flagged = {
        (int((t - T0).total_seconds() // 3600), metric)
        for t, metric in zip(out["start"], out["metric"], strict=True)
    }
    assert flagged == {(4, "error_rate"), (6, "handshake_duration_p95")}


def test_steady_series_raises_no_alarm(activity: Builder) -> None:
    df = _hours(activity, [0.0] * 12, [100] * 12, slow=set())
    assert find_incidents(df).height == 0
