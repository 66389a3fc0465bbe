"""The ranking helpers take ``by=`` like every other helper (issue 3: "everywhere it appears").

``bandwidth_by``, ``top_offenders`` and ``proxy_health`` (now ``pool_health``) once took only
``column: str``, so
``bandwidth_by(df, by="domain")`` raised TypeError and neither an expression nor the derived
``outcome`` could be ranked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

import wsframes.analysis as wa
from wsframes.errors import ConfigurationError

Builder = Callable[..., pl.DataFrame]

RANKERS: dict[str, Callable[..., Any]] = {
    "bandwidth_by": wa.bandwidth_by,
    "top_offenders": wa.top_offenders,
    "pool_health": lambda d, **kw: wa.pool_health(d, min_requests=1, **kw),
}


@pytest.fixture
def frame(activity: Builder) -> pl.DataFrame:
    return activity(
        domain=["a.com", "b.com", "a.com", "c.com", "b.com", "a.com"],
        hostname=["x.a.com", "b.com", "y.a.com", "c.com", "b.com", "x.a.com"],
        proxy_address=["p1", "p2", "p1", "p1", "p2", "p3"],
        error_reason=[None, "bandwidthlimit", None, None, None, "no_proxies_allocated"],
        bytes=[100, 0, 300, 50, 700, 0],
    )


@pytest.mark.parametrize("name", list(RANKERS))
def test_by_names_a_column_and_leads_the_result(frame: pl.DataFrame, name: str) -> None:
    rank = RANKERS[name]
    out = rank(frame, by="hostname")
    assert out.columns[out.columns.index("hostname") + 1] == "requests"
    assert set(out["hostname"].to_list()) == set(frame["hostname"].to_list())


@pytest.mark.parametrize("name", list(RANKERS))
def test_by_takes_an_expression_and_several_keys(frame: pl.DataFrame, name: str) -> None:
    rank = RANKERS[name]
    tld = pl.col("domain").cast(pl.String).str.extract(r"^(\w)").alias("initial")
    out = rank(frame, by=[tld, "proxy_address"])
    got = {(r["initial"], r["proxy_address"]): r["requests"] for r in out.iter_rows(named=True)}
    assert got == {("a", "p1"): 2, ("b", "p2"): 2, ("c", "p1"): 1, ("a", "p3"): 1}


def test_bandwidth_by_outcome_splits_the_bytes_of_failures(frame: pl.DataFrame) -> None:
    out = wa.bandwidth_by(frame, by="outcome")
    assert out.select("outcome", "requests", "bytes").rows() == [("success", 4, 1150), ("failed", 2, 0)]
    assert out["cumulative_share"].to_list() == [1.0, 1.0]


def test_top_offenders_by_outcome_and_by_default_domain(frame: pl.DataFrame) -> None:
    by_outcome = wa.top_offenders(frame, by="outcome", sort_by="requests")
    rows = by_outcome.select("outcome", "requests", "error_rate").rows()
    assert rows == [("success", 4, 0.0), ("failed", 2, 1.0)]
    default = wa.top_offenders(frame)
    assert default.columns[0] == "domain"
    assert default.select("domain", "failed").rows() == [("a.com", 1), ("b.com", 1), ("c.com", 0)]


@pytest.mark.parametrize("name", list(RANKERS))
def test_by_an_unknown_column_is_explained(frame: pl.DataFrame, name: str) -> None:
    with pytest.raises(ConfigurationError, match="by= names a column"):
        RANKERS[name](frame, by="colour")
