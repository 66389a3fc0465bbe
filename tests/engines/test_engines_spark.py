"""The core summaries on Spark in local mode, over the archive's Parquet: Polars' numbers, Spark's kind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import wsframes.analysis as wa

CORE: dict[str, Callable[[Any], Any]] = {
    "latency_by_domain": lambda d: wa.latency_summary(d, by="domain"),
    "latency_by_outcome": lambda d: wa.latency_summary(d, by="outcome", quantiles=(0.5, 0.999)),
    "errors_by_domain": lambda d: wa.error_taxonomy(d, by="domain"),
    "errors": lambda d: wa.error_taxonomy(d),
    "traffic_hourly_by_protocol": lambda d: wa.traffic_over_time(d, every="1h", by="protocol"),
    "traffic_daily_kolkata": lambda d: wa.traffic_over_time(d, every="1d", tz="Asia/Kolkata"),
}


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.selectors.datetime(time_zone="*").dt.convert_time_zone("UTC"))


@pytest.fixture(scope="module")
def table(spark: Any, archive: Path) -> Any:
    # The archive as any Spark job reads it: Hive partitions plan_id=/date= become columns.
    return spark.read.parquet(str(archive))


@pytest.mark.parametrize("name", list(CORE))
def test_core_summaries_on_spark_match_polars(table: Any, archived: pl.DataFrame, name: str) -> None:
    from pyspark.sql import DataFrame as SparkDataFrame

    out = CORE[name](table)
    assert isinstance(out, SparkDataFrame)  # lazy in, lazy out: a Spark DataFrame on the same session
    got = pl.from_arrow(out.toArrow())
    assert isinstance(got, pl.DataFrame)
    expected = CORE[name](archived)
    assert got.height == expected.height > 0
    assert got.columns == expected.columns
    # Spark's percentile and sums run in its own order: equal to floating-point rounding.
    assert_frame_equal(_utc(got), _utc(expected), check_dtypes=False, rel_tol=1e-9, abs_tol=0)


def test_other_helpers_stream_from_spark(table: Any, archived: pl.DataFrame) -> None:
    out = wa.pool_health(table)
    got = pl.from_arrow(out.toArrow())
    assert isinstance(got, pl.DataFrame)
    assert_frame_equal(got, wa.pool_health(archived), check_dtypes=False, rel_tol=1e-9, abs_tol=0)
