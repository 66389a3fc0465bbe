"""Service levels at the edges: empty input, groups without durations, thresholds that make no sense.

The documented rule (wsframes.analysis): an empty input gives an empty frame with the documented
columns. ``slo_attainment`` used to return one row of zeros with a NaN attainment ungrouped while
``apdex`` returned none; and ``apdex(threshold=0)`` was accepted though its tolerating band
``(T, 4T]`` is then empty.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pandas as pd
import polars as pl
import pytest

import wsframes.analysis as wa
from wsframes.errors import ConfigurationError

Builder = Callable[..., pl.DataFrame]

COLUMNS = {
    "slo_attainment": ["count", "within", "attainment", "ci_low", "ci_high"],
    "apdex": ["count", "satisfied", "tolerating", "frustrated", "apdex"],
}
FUNCS: dict[str, Callable[..., Any]] = {"slo_attainment": wa.slo_attainment, "apdex": wa.apdex}


def _keys(by: Any) -> list[str]:
    return [] if by is None else [by] if isinstance(by, str) else list(by)


@pytest.mark.parametrize("by", [None, "domain", ["domain", "outcome"]])
@pytest.mark.parametrize("name", list(FUNCS))
def test_empty_input_gives_an_empty_frame_with_the_documented_columns(
    activity: Builder, name: str, by: Any
) -> None:
    empty = activity(0)
    expected = [*_keys(by), *COLUMNS[name]]
    eager = FUNCS[name](empty, threshold=0.25, by=by)
    lazy = FUNCS[name](empty.lazy(), threshold=0.25, by=by).collect()
    pandas = FUNCS[name](empty.to_pandas(), threshold=0.25, by=by)
    assert isinstance(pandas, pd.DataFrame)
    for out in (eager, lazy, pl.from_pandas(pandas)):
        assert out.columns == expected
        assert out.height == 0


def test_a_group_without_any_duration_has_a_null_attainment_not_nan(activity: Builder) -> None:
    df = activity(
        domain=["a.com", "a.com", "b.com"],
        handshake_duration=[None, float("nan"), 0.1],
    )
    out = wa.slo_attainment(df, threshold=0.25, by="domain")
    assert out.select("domain", "count", "within", "attainment", "ci_low").rows() == [
        ("a.com", 0, 0, None, None),
        ("b.com", 1, 1, 1.0, pytest.approx(0.2065, abs=1e-4)),  # Wilson, x = n = 1
    ]
    ungrouped = wa.slo_attainment(df.filter(pl.col("domain") == "a.com"), threshold=0.25)
    assert ungrouped.select("count", "attainment").rows() == [(0, None)]


@pytest.mark.parametrize("threshold", [0, 0.0, -0.2, timedelta(0), math.nan, math.inf, True, "0.2"])
@pytest.mark.parametrize("name", list(FUNCS))
def test_a_threshold_must_be_a_positive_duration(activity: Builder, name: str, threshold: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"threshold=.* must be a positive number of seconds"):
        FUNCS[name](activity(3), threshold=threshold)


def test_a_timedelta_threshold_means_the_same_as_seconds(activity: Builder) -> None:
    df = activity(request_duration=[0.1, 0.3, 0.9, 2.0])
    assert wa.apdex(df, threshold=timedelta(milliseconds=250)).equals(wa.apdex(df, threshold=0.25))


@pytest.mark.parametrize("min_requests", [0, -5, 2.5, True])
@pytest.mark.parametrize(
    "call",
    [
        lambda d, m: wa.top_offenders(d, min_requests=m),
        lambda d, m: wa.pool_health(d, min_requests=m),
        lambda d, m: wa.replacement_plan(d, d.select("proxy_address"), min_requests=m),
    ],
    ids=["top_offenders", "pool_health", "replacement_plan"],
)
def test_min_requests_must_be_a_whole_number_of_at_least_one(
    activity: Builder, call: Callable[..., Any], min_requests: Any
) -> None:
    with pytest.raises(ConfigurationError, match=r"min_requests=.* must be a whole number of at least 1"):
        call(activity(3), min_requests)
