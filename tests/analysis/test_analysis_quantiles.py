"""Quantiles equal NumPy's ``method="linear"`` on random and adversarial data, grouped or not."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsframes.analysis import _quantile, latency_summary
from wsframes.analysis._quantile import _SMALL, exact_quantiles

Builder = Callable[..., pl.DataFrame]
QS = (0.0, 0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0)


def _cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(42)
    n = _SMALL * 3 + 17  # large enough to take the bucket-and-select path
    return {
        "lognormal": rng.lognormal(-1.5, 1.0, n),
        "millisecond ties": np.round(rng.lognormal(-1.5, 1.0, n), 3),
        "negative and positive": rng.normal(0, 5, n),
        "all equal": np.full(n, 0.25),
        "two values": rng.choice([0.1, 7.0], n),
        "huge range": np.concatenate([rng.lognormal(-20, 1, n // 2), rng.lognormal(20, 1, n - n // 2)]),
        "zeros and subnormals": np.concatenate([np.zeros(n // 2), np.full(n // 2, 5e-324), [1.0]]),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_exact_quantiles_are_bit_identical_to_numpy(name: str) -> None:
    values = _cases()[name]
    got = exact_quantiles(values.copy(), QS)
    np.testing.assert_array_equal(got, np.quantile(values, QS))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.floats(0, 1), min_size=1, max_size=6, unique=True),
)
def test_exact_quantiles_small_inputs_match_numpy(values: list[float], qs: list[float]) -> None:
    arr = np.array(values)
    np.testing.assert_array_equal(exact_quantiles(arr, qs), np.quantile(arr, qs))


def test_ungrouped_summary_matches_numpy_on_large_data_with_nulls_and_nan(activity: Builder) -> None:
    rng = np.random.default_rng(7)
    n = _SMALL * 2
    hs = rng.lognormal(-2, 0.8, n)
    hs_list: list[float | None] = hs.tolist()
    for i in rng.choice(n, 500, replace=False):
        hs_list[i] = None
    hs_list[3] = math.nan  # NaN is ignored like null
    df = activity(n, handshake_duration=hs_list)
    out = latency_summary(df, metrics="handshake_duration")
    clean = np.array([v for v in hs_list if v is not None and not math.isnan(v)])
    row = out.row(0, named=True)
    assert row["count"] == clean.size
    got = [row[c] for c in ("p50", "p90", "p95", "p99", "p99.9")]
    np.testing.assert_array_equal(got, np.quantile(clean, [0.5, 0.9, 0.95, 0.99, 0.999]))
    assert row["max"] == clean.max()
    assert row["mean"] == pytest.approx(clean.mean(), rel=1e-12)


def test_one_row_ties_and_all_null(activity: Builder) -> None:
    one = latency_summary(activity(1, handshake_duration=[0.3]), metrics="handshake_duration")
    assert one.select("count", "p50", "p99.9", "max").row(0) == (1, 0.3, 0.3, 0.3)
    ties = latency_summary(activity(5, handshake_duration=[0.2] * 5), metrics="handshake_duration")
    assert ties["p99"][0] == 0.2
    none = latency_summary(activity(3, tunnel_duration=[None] * 3), metrics="tunnel_duration")
    assert none.select("count", "mean", "p50", "max").row(0) == (0, None, None, None)


@pytest.mark.parametrize("by", [None, "domain", ["domain", "outcome"]])
def test_empty_input_gives_empty_frame_with_documented_columns(activity: Builder, by: Any) -> None:
    out = latency_summary(activity(0), by=by)
    keys = [] if by is None else [by] if isinstance(by, str) else by
    assert out.height == 0
    assert out.columns == [*keys, "metric", "count", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"]


group_rows = st.lists(
    st.tuples(
        st.sampled_from(["a.com", "b.com", "c.com", None]),
        st.one_of(st.none(), st.just(math.nan), st.floats(0, 100, allow_nan=False)),
        st.sampled_from([None, "bandwidthlimit", "weird_new_code"]),
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=60, deadline=None)
@given(group_rows)
def test_grouped_summary_matches_numpy_per_group(activity: Builder, rows: Any) -> None:
    domains, values, errors = (list(c) for c in zip(*rows, strict=True))
    df = activity(len(rows), domain=domains, handshake_duration=values, error_reason=errors)
    out = latency_summary(df, by=["domain", "outcome"], metrics="handshake_duration")
    expected: dict[tuple[str | None, str], list[float | None]] = {}
    for d, v, e in rows:
        expected.setdefault((d, "success" if e is None else "failed"), []).append(v)
    assert out.height == len(expected)
    for row in out.iter_rows(named=True):
        group = expected[(row["domain"], row["outcome"])]
        vals = np.array([v for v in group if v is not None and not math.isnan(v)])  # NaN = missing
        assert row["count"] == vals.size
        if vals.size == 0:
            assert row["p50"] is None and row["max"] is None
            continue
        got = [row[c] for c in ("p50", "p90", "p95", "p99", "p99.9")]
        np.testing.assert_array_equal(got, np.quantile(vals, [0.5, 0.9, 0.95, 0.99, 0.999]))
        assert row["max"] == vals.max()


def test_rows_sorted_by_group_then_metric_order(activity: Builder) -> None:
    df = activity(4, domain=["b.com", "a.com", "b.com", None])
    out = latency_summary(df, by="domain", metrics=["request_duration", "handshake_duration"])
    assert out.select(pl.col("domain").cast(pl.String), "metric").rows() == [
        ("a.com", "request_duration"),
        ("a.com", "handshake_duration"),
        ("b.com", "request_duration"),
        ("b.com", "handshake_duration"),
        (None, "request_duration"),
        (None, "handshake_duration"),
    ]


def test_many_groups_fall_back_to_polars_per_group_quantiles(activity: Builder, monkeypatch: Any) -> None:
    rng = np.random.default_rng(9)
    n = 2000
    hs = rng.lognormal(-2, 1, n)
    hs[::7] = np.nan  # missing, on both paths
    domains = [f"d{i % 150}.com" for i in range(n)]
    df = activity(n, handshake_duration=hs.tolist(), domain=domains)
    loop = latency_summary(df, by="domain", metrics="handshake_duration")
    monkeypatch.setattr(_quantile, "MAX_LOOP_GROUPS", 100)  # 150 groups: too many to loop over
    native = latency_summary(df, by="domain", metrics="handshake_duration")
    assert loop["domain"].to_list() == native["domain"].to_list()
    for col in ("count", "max"):
        assert loop[col].to_list() == native[col].to_list()
    assert loop["count"].sum() == int((~np.isnan(hs)).sum())
    for col in ("mean", "p50", "p90", "p95", "p99", "p99.9"):
        # Polars' own summation and interpolation may differ from NumPy's in the last bit.
        np.testing.assert_allclose(loop[col].to_numpy(), native[col].to_numpy(), rtol=1e-12, atol=0)


def test_big_groups_take_the_linear_kernel_and_stay_bit_identical() -> None:
    # Zipf-like: one group above the kernel's threshold (unsorted, bucket-and-select), small ones
    # sorted; NaN is missing in both. Every group must equal numpy.quantile bit for bit.
    rng = np.random.default_rng(3)
    sizes = np.array([_SMALL * 2 + 5, 1, 0, 40, _SMALL - 1])
    values = np.round(rng.lognormal(-1.5, 1.0, sizes.sum()), 4)
    values[::11] = np.nan
    qs = [0.0, 0.5, 0.95, 0.999, 1.0]
    out = _quantile.grouped_summary(values.copy(), sizes, qs)
    for g, (lo, n) in enumerate(zip(np.cumsum(sizes) - sizes, sizes, strict=True)):
        group = values[lo : lo + n]
        group = group[~np.isnan(group)]
        assert out[g, 0] == group.size
        if group.size == 0:
            assert np.isnan(out[g, 1:]).all()
            continue
        assert out[g, 2] == group.max()
        np.testing.assert_array_equal(out[g, 3:], np.quantile(group, qs))
        assert out[g, 1] == pytest.approx(group.mean(), rel=1e-12)


def test_grouped_summary_reads_missing_values_wherever_they_sit() -> None:
    # Missing values stay in place and sort last: a lone value after a NaN, an all-NaN group, and
    # a group as long as the kernel's threshold whose values alone are fewer (so it is sorted).
    rng = np.random.default_rng(5)
    long = rng.lognormal(-1, 1, _SMALL + 3)
    long[::2] = np.nan
    groups = [np.array([np.nan, 1.0]), np.array([np.nan, np.nan]), np.array([2.0]), long]
    out = _quantile.grouped_summary(np.concatenate(groups), np.array([g.size for g in groups]), [0.5, 0.99])
    for row, group in zip(out, groups, strict=True):
        vals = group[~np.isnan(group)]
        assert row[0] == vals.size
        if vals.size == 0:
            assert np.isnan(row[1:]).all()
            continue
        assert row[2] == vals.max()
        np.testing.assert_array_equal(row[3:], np.quantile(vals, [0.5, 0.99]))
        assert row[1] == pytest.approx(vals.mean(), rel=1e-12)
