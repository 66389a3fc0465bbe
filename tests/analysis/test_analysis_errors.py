"""Error taxonomy, Wilson intervals, error rates over time and top offenders."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsframes.analysis import (
    error_rate_over_time,
    error_taxonomy,
    pool_health,
    top_offenders,
    wilson_interval,
)
from wsframes.schema import CATEGORY_ADVICE, ERROR_CATALOGUE

from .conftest import T0

Builder = Callable[..., pl.DataFrame]


@pytest.mark.parametrize(
    ("successes", "total", "low", "high"),
    [
        # Newcombe RG (1998), "Two-sided confidence intervals for the single proportion: comparison
        # of seven methods", Stat Med 17:857-872, Table I, method 3 (Wilson score, no continuity
        # correction), 95 %.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998(successes: int, total: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(pl.lit(successes), pl.lit(total))
    got = pl.select(lo, hi).row(0)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_is_null_without_trials_and_mirrors_at_the_ends() -> None:
    lo, hi = wilson_interval("x", "n")
    out = pl.DataFrame({"x": [0, 20, 0], "n": [20, 20, 0]}).select(lo, hi)
    (l0, h0), (l1, h1), (l2, h2) = out.rows()
    assert l0 == 0 and h1 == 1 and l1 == pytest.approx(1 - h0) and (l2, h2) == (None, None)


def test_taxonomy_labels_known_and_unknown_codes(activity: Builder) -> None:
    errors = [None] * 6 + ["no_proxies_allocated"] * 3 + ["from_the_future"]
    hints = [None] * 9 + ["Ask support."]
    out = error_taxonomy(activity(error_reason=errors, error_reason_how_to_fix=hints))
    assert out.columns == [
        "error_reason",
        "category",
        "type",
        "count",
        "share",
        "ci_low",
        "ci_high",
        "share_of_failures",
        "how_to_fix",
        "api_how_to_fix",
    ]
    rows = {r["error_reason"]: r for r in out.iter_rows(named=True)}
    known, unknown = rows["no_proxies_allocated"], rows["from_the_future"]
    assert (known["category"], known["type"], known["count"], known["share"]) == (
        "proxy_list_outdated",
        "configuration",
        3,
        pytest.approx(0.3),
    )
    assert known["how_to_fix"] == CATEGORY_ADVICE["proxy_list_outdated"]
    assert (unknown["category"], unknown["type"], unknown["count"]) == ("unknown", "unknown", 1)
    assert unknown["api_how_to_fix"] == "Ask support."
    assert out["error_reason"].to_list() == ["no_proxies_allocated", "from_the_future"]  # by count


def test_every_catalogued_category_has_advice() -> None:
    assert {e.category for e in ERROR_CATALOGUE.values()} <= set(CATEGORY_ADVICE)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["x.com", "y.org", None]), st.sampled_from([None, None, "bandwidthlimit", "odd"])
        ),
        min_size=1,
        max_size=60,
    )
)
def test_grouped_taxonomy_counts_and_shares_match_counting(activity: Builder, rows: Any) -> None:
    domains, errors = (list(c) for c in zip(*rows, strict=True))
    out = error_taxonomy(activity(domain=domains, error_reason=errors), by="domain")
    totals = Counter(d for d, _ in rows)
    failures = Counter((d, e) for d, e in rows if e is not None)
    got = {(r["domain"], r["error_reason"]): (r["count"], r["share"]) for r in out.iter_rows(named=True)}
    assert got == {k: (c, pytest.approx(c / totals[k[0]])) for k, c in failures.items()}
    assert all(r["ci_low"] <= r["share"] <= r["ci_high"] for r in out.iter_rows(named=True))
    failed = Counter(d for d, e in rows if e is not None)
    mix = {(r["domain"], r["error_reason"]): r["share_of_failures"] for r in out.iter_rows(named=True)}
    assert mix == {k: pytest.approx(c / failed[k[0]]) for k, c in failures.items()}


def test_taxonomy_shares_mean_the_same_with_and_without_by(activity: Builder) -> None:
    # 10 requests, 4 failed: "share" is always of the group's requests, the mix is separate.
    df = activity(error_reason=[None] * 6 + ["bandwidthlimit"] * 3 + ["odd"])
    plain = error_taxonomy(df).select("error_reason", "share", "share_of_failures").rows()
    assert plain == [("bandwidthlimit", 0.3, 0.75), ("odd", 0.1, 0.25)]
    by_protocol = error_taxonomy(df, by="protocol").select("error_reason", "share", "share_of_failures")
    assert by_protocol.rows() == plain  # one group holding every request: identical numbers
    by_outcome = error_taxonomy(df, by="outcome")
    # The "failed" group's requests are the failures, so there both shares are of the 4 failures.
    assert by_outcome.select("share", "share_of_failures").rows() == [(0.75, 0.75), (0.25, 0.25)]


def test_error_rate_over_time_buckets_in_the_requested_zone(activity: Builder) -> None:
    # 18:29 and 18:31 UTC straddle a local hour boundary in Asia/Kolkata (+05:30).
    ts = [T0 + timedelta(hours=18, minutes=29), T0 + timedelta(hours=18, minutes=31)] * 2
    df = activity(timestamp=ts, error_reason=[None, "bandwidthlimit", "bandwidthlimit", "bandwidthlimit"])
    utc = error_rate_over_time(df, every="1h")
    assert utc.select("requests", "failed", "error_rate").rows() == [(4, 3, 0.75)]
    local = error_rate_over_time(df, every="1h", tz="Asia/Kolkata")
    assert [t.strftime("%H:%M") for t in local["time"]] == ["23:00", "00:00"]
    assert local.select("requests", "failed").rows() == [(2, 1), (2, 2)]


def test_top_offenders_ranks_and_attaches_volume_bytes_and_p95(activity: Builder) -> None:
    domains = ["bad.com"] * 10 + ["good.com"] * 230 + ["rare.com"]
    errors = ["target_connect_unknown_error"] * 6 + [None] * 4 + [None] * 200 + ["x"] * 30 + ["x"]
    seconds = [float(i) for i in range(10)] + [float(i) for i in range(200)] + [999.0] * 30 + [0.1]
    df = activity(domain=domains, error_reason=errors, request_duration=seconds, bytes=[10] * 241)
    out = top_offenders(df, n=2, min_requests=2, sort_by="error_rate")
    assert out.columns == ["domain", "requests", "failed", "error_rate", "ci_low", "ci_high", "bytes", "p95"]
    assert out["domain"].to_list() == ["bad.com", "good.com"]  # rare.com is below min_requests
    first, second = out.rows(named=True)
    assert (first["domain"], first["requests"], first["failed"], first["bytes"]) == ("bad.com", 10, 6, 100)
    assert first["p95"] is None  # 4 successful requests do not hold a p95
    # Over the 200 successful requests only (the failures' 999 s are when they gave up), as in
    # pool_health: one column, one meaning.
    assert second["p95"] == pytest.approx(189.05)
    assert pool_health(df, by="domain").filter(pl.col("domain") == "good.com")["p95"].item() == second["p95"]


def test_error_rate_over_time_can_list_quiet_buckets(activity: Builder) -> None:
    df = activity(timestamp=[T0, T0 + timedelta(hours=2)], error_reason=["x", None])
    out = error_rate_over_time(df, every="1h", fill_gaps=True)
    assert out.select("requests", "failed", "error_rate").rows() == [(1, 1, 1.0), (0, 0, None), (1, 0, 0.0)]
    assert out["ci_low"][1] is None
