"""DuckDB inputs: the core summaries run inside DuckDB, equal the Polars paths, and bad input is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import wsframes.analysis as wa
from wsframes.analysis._engines import EngineFrame
from wsframes.errors import ConfigurationError

#: Pushed down (plain names, "outcome") and the same request forced through the streamed path
#: (a Polars expression cannot be pushed down), which runs the Polars fast paths.
PAIRS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "latency": (
        lambda d: wa.latency_summary(d, by="domain"),
        lambda d: wa.latency_summary(d, by=pl.col("domain")),
    ),
    "latency_outcome": (
        lambda d: wa.latency_summary(d, by="outcome", quantiles=(0.0, 0.25, 0.999, 1.0)),
        lambda d: wa.latency_summary(d, by=wa.outcome_expr(), quantiles=(0.0, 0.25, 0.999, 1.0)),
    ),
    "errors": (
        lambda d: wa.error_taxonomy(d, by="domain"),
        lambda d: wa.error_taxonomy(d, by=pl.col("domain")),
    ),
    "traffic": (
        lambda d: wa.traffic_over_time(d, every="30m", by="protocol", tz="Australia/Adelaide"),
        lambda d: wa.traffic_over_time(d, every="30m", by=pl.col("protocol"), tz="Australia/Adelaide"),
    ),
}


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.selectors.datetime(time_zone="*").dt.convert_time_zone("UTC"))


@pytest.fixture(scope="module")
def parquet(archived: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("duck") / "activity.parquet"
    archived.write_parquet(path)
    return path


@pytest.mark.parametrize("name", list(PAIRS))
def test_pushed_down_equals_streamed_and_polars(
    name: str, parquet: Path, archived: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed_call, streamed_call = PAIRS[name]
    rel = duckdb.read_parquet(str(parquet))
    streamed = streamed_call(rel)

    def refuse(*_: Any) -> Any:
        raise AssertionError("the pushed-down path read the relation's rows into Polars")

    monkeypatch.setattr(EngineFrame, "_duckdb_source", refuse)
    pushed = pushed_call(rel)
    assert isinstance(pushed, duckdb.DuckDBPyRelation)
    polars_fast = pushed_call(archived)
    for other in (streamed.pl(), polars_fast):
        assert_frame_equal(_utc(pushed.pl()), _utc(other), check_dtypes=False, rel_tol=1e-9, abs_tol=0)


def test_lazy_duckdb_result_composes_with_sql(parquet: Path) -> None:
    rel = duckdb.read_parquet(str(parquet))
    out = wa.latency_summary(rel, by="protocol", metrics="handshake_duration")
    top = out.filter("metric = 'handshake_duration'").order("p95 desc").limit(1).fetchall()
    assert top and top[0][0] in {"http", "socks5"}


def test_a_missing_column_is_named_before_duckdb_runs() -> None:
    rel = duckdb.sql("select 1.5 as handshake_duration")
    with pytest.raises(ConfigurationError, match="'error_reason'"):
        wa.error_taxonomy(rel)


def test_something_no_engine_reads_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="a DuckDB relation, a PySpark DataFrame"):
        wa.latency_summary([1, 2, 3])  # type: ignore[type-var]


@pytest.mark.parametrize("by", [["domain"], ["outcome", "protocol"], []])
def test_duckdb_fast_path_equals_the_portable_narwhals_path(parquet: Path, by: list[str]) -> None:
    from wsframes.analysis._engines import engine_frame
    from wsframes.analysis._pushdown import engine_keys, latency_wide

    engine = engine_frame(duckdb.read_parquet(str(parquet)))
    assert engine is not None
    keys = engine_keys(by)
    assert keys is not None
    metrics, qs = ["handshake_duration", "tunnel_duration"], (0.0, 0.5, 0.99, 0.999, 1.0)
    fast = latency_wide(engine, keys, by, metrics, qs).collect()
    portable = latency_wide(engine, keys, by, metrics, qs, fast=False).collect()
    assert fast.height > 0 and fast.columns == portable.columns
    order = by or [pl.lit(0)]
    assert_frame_equal(fast.sort(order), portable.sort(order), check_dtypes=False, rel_tol=1e-12, abs_tol=0)
