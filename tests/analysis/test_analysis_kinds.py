"""Eager, lazy, pandas and DuckDB inputs give the same numbers, and each returns its own kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import wsframes.analysis as wa
from wsframes.fake import generate_activity

CALLS: dict[str, Callable[[Any], Any]] = {
    "latency_summary": lambda d: wa.latency_summary(d),
    "latency_summary_by": lambda d: wa.latency_summary(d, by=["outcome", "protocol"]),
    "latency_summary_sketch": lambda d: wa.latency_summary(d, method="sketch"),
    "latency_summary_sketch_by": lambda d: wa.latency_summary(d, by="protocol", method="sketch"),
    "latency_histogram": lambda d: wa.latency_histogram(d, by="outcome"),
    "latency_ccdf": lambda d: wa.latency_ccdf(d, metric="request_duration"),
    "latency_over_time": lambda d: wa.latency_over_time(d, every="6h", tz="Europe/Berlin"),
    "slo_attainment": lambda d: wa.slo_attainment(d, threshold=0.2, by="protocol"),
    "apdex": lambda d: wa.apdex(d, threshold=0.5),
    "error_taxonomy": lambda d: wa.error_taxonomy(d, by="protocol"),
    "error_rate_over_time": lambda d: wa.error_rate_over_time(d, every="1d", by=pl.col("port")),
    "top_offenders": lambda d: wa.top_offenders(d, by="hostname"),
    "traffic_over_time": lambda d: wa.traffic_over_time(d, every="1d", tz="Asia/Kolkata"),
    "hourly_profile": lambda d: wa.hourly_profile(d, tz="America/New_York"),
    "bandwidth_by": lambda d: wa.bandwidth_by(d, by="proxy_address"),
    "estimated_concurrency": lambda d: wa.estimated_concurrency(d, every="1h"),
    "pool_health": lambda d: wa.pool_health(d, min_requests=5),
}


@pytest.fixture(scope="module")
def demo() -> pl.DataFrame:
    return generate_activity(4000, seed=5)


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    # A DuckDB TIMESTAMPTZ is an instant without a zone: it comes back in the session's zone.
    return frame.with_columns(pl.selectors.datetime(time_zone="*").dt.convert_time_zone("UTC"))


def _same(a: pl.DataFrame, b: pl.DataFrame, *, rel_tol: float = 1e-12) -> None:
    # pandas has no unsigned/categorical round trip of every dtype, so compare values.
    assert a.columns == b.columns
    assert_frame_equal(_utc(a), _utc(b), check_dtypes=False, rel_tol=rel_tol, abs_tol=0)


def _duckdb(frame: pl.DataFrame) -> duckdb.DuckDBPyRelation:
    return duckdb.from_arrow(frame.to_arrow())


@pytest.mark.parametrize("name", list(CALLS))
def test_kinds_give_the_same_numbers(demo: pl.DataFrame, name: str) -> None:
    call = CALLS[name]
    eager = call(demo)
    lazy = call(demo.lazy())
    from_pandas = call(demo.to_pandas())
    from_duckdb = call(_duckdb(demo))
    assert isinstance(eager, pl.DataFrame) and eager.height > 0
    assert isinstance(lazy, pl.LazyFrame)
    assert isinstance(from_pandas, pd.DataFrame)
    assert isinstance(from_duckdb, duckdb.DuckDBPyRelation)
    _same(eager, lazy.collect())
    _same(eager, pl.from_pandas(from_pandas))
    # DuckDB sums and interpolates in its own order: equal to floating-point rounding.
    _same(eager, from_duckdb.pl(), rel_tol=1e-9)


@pytest.mark.parametrize("name", list(CALLS))
def test_empty_input_gives_an_empty_frame_with_the_same_columns(demo: pl.DataFrame, name: str) -> None:
    call = CALLS[name]
    empty = call(demo.clear())
    assert isinstance(empty, pl.DataFrame)
    assert empty.columns == call(demo).columns
    if name != "hourly_profile":  # the profile is a fixed 7 x 24 grid, zeros included
        assert empty.height == 0


def test_compare_periods_kinds(demo: pl.DataFrame) -> None:
    before, after = demo.head(2000), demo.tail(2000)
    eager = wa.compare_periods(before, after, by="protocol")
    lazy = wa.compare_periods(before.lazy(), after.lazy(), by="protocol")
    pandas = wa.compare_periods(before.to_pandas(), after.to_pandas(), by="protocol")
    from_duckdb = wa.compare_periods(_duckdb(before), _duckdb(after), by="protocol")
    for part in ("summary", "latency", "error_codes", "changes"):
        e = getattr(eager, part)
        assert isinstance(e, pl.DataFrame)
        _same(e, getattr(lazy, part).collect())
        _same(e, pl.from_pandas(getattr(pandas, part)))
        assert isinstance(getattr(from_duckdb, part), duckdb.DuckDBPyRelation)
        _same(e, getattr(from_duckdb, part).pl(), rel_tol=1e-9)


def test_a_scanned_parquet_file_is_analysed_lazily(demo: pl.DataFrame, tmp_path: Any) -> None:
    path = tmp_path / "activity.parquet"
    demo.write_parquet(path)
    lazy = wa.latency_summary(pl.scan_parquet(path), by="outcome")
    assert isinstance(lazy, pl.LazyFrame)
    _same(lazy.collect(), wa.latency_summary(demo, by="outcome"))
    _same(lazy.collect(engine="streaming"), wa.latency_summary(demo, by="outcome"))  # as the README shows
