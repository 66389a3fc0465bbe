"""find_incidents on DuckDB and Spark: the engine counts the cells, the incidents are Polars' own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import narwhals as nw
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import wsframes.analysis.incidents._cells as cells_module
from wsframes.analysis import find_incidents
from wsframes.fake import Incident, generate_activity
from wsframes.fake.incidents import plant

T0 = datetime(2026, 11, 2, tzinfo=UTC)
AT = T0 + timedelta(days=4, hours=13)


def _week(start: datetime, seed: int, incidents: tuple[Incident, ...] = ()) -> pl.DataFrame:
    end = start + timedelta(days=7)
    return generate_activity(40_000, start=start, end=end, seed=seed, incidents=incidents)


@pytest.fixture(scope="module")
def weeks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A week with a domain's error burst, a server's slowdown and a new code (the rates are then
    counted again without it, in the engine too), and the usual week before."""
    plain = _week(T0, 4)
    domain, server = (
        str(plain[c].drop_nulls().cast(pl.String).value_counts(sort=True)[c][2])
        for c in ("domain", "listen_address")
    )
    planted = (
        Incident("error_burst", AT, hours=3, dimension="domain", value=domain, size=0.7),
        Incident("latency_regression", AT - timedelta(days=2), hours=24, dimension="listen_address",
                 value=server, size=4.0),
        Incident("new_error_code", AT - timedelta(days=3), code="upstream_tls_failure", size=0.1),
    )
    root = tmp_path_factory.mktemp("incidents")
    _week(T0, 4, planted).write_parquet(root / "current.parquet")
    _week(T0 - timedelta(days=7), 5).write_parquet(root / "previous.parquet")
    return root / "current.parquet", root / "previous.parquet"


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.selectors.datetime(time_zone="*").dt.convert_time_zone("UTC"))


def _refuse_polars_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if the rows are counted in Polars: on an engine, the engine counts them."""

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the rows were pulled into Polars to count the cells")

    monkeypatch.setattr(cells_module, "_narrow", refuse)


CASES = {
    "1h UTC": {},
    "1h Kolkata": {"tz": "Asia/Kolkata"},
    "1d New York": {"every": "1d", "tz": "America/New_York"},
}


@pytest.mark.parametrize("label", list(CASES))
@pytest.mark.parametrize("with_baseline", [False, True], ids=["no-baseline", "baseline"])
def test_duckdb_gives_polars_incidents(
    weeks: tuple[Path, Path], label: str, with_baseline: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    current, previous = weeks
    options: dict[str, Any] = dict(CASES[label])
    baseline = {"baseline": pl.read_parquet(previous)} if with_baseline else {}
    expected = _utc(find_incidents(pl.read_parquet(current), **options, **baseline))
    if label.startswith("1h"):  # daily buckets are too coarse for a 3-hour burst
        assert set(expected["kind"]) == {"error_burst", "latency_regression", "new_error_code"}
    _refuse_polars_counts(monkeypatch)
    baseline = {"baseline": duckdb.read_parquet(str(previous))} if with_baseline else {}
    got = find_incidents(duckdb.read_parquet(str(current)), **options, **baseline)
    assert isinstance(got, duckdb.DuckDBPyRelation)
    assert_frame_equal(_utc(got.pl()), expected, check_dtypes=False)


def test_spark_gives_polars_incidents(
    spark: Any, weeks: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    current, previous = weeks
    expected = _utc(find_incidents(pl.read_parquet(current), baseline=pl.read_parquet(previous)))
    assert set(expected["kind"]) == {"error_burst", "latency_regression", "new_error_code"}
    _refuse_polars_counts(monkeypatch)
    got = find_incidents(spark.read.parquet(str(current)), baseline=spark.read.parquet(str(previous)))
    back = nw.from_native(got).collect(backend="polars").to_native()
    assert_frame_equal(_utc(back), expected, check_dtypes=False)


def test_a_plans_incident_is_named_by_its_plan_on_every_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two plans in one frame (as ``scan_activity(plan_id=[1, 2])`` reads them), each its own proxies."""
    octet = pl.col("proxy_address").cast(pl.String).str.split(".").list.get(2, null_on_oob=True)
    second = octet.cast(pl.Int64, strict=False) >= 4
    plans = pl.when(second).then(2).otherwise(1).cast(pl.Int64).alias("plan_id")
    burst = Incident("error_burst", AT, hours=4, dimension="plan_id", value="2", size=0.6,
                     code="bandwidthlimit")  # the plan ran out of bandwidth
    frame = _week(T0, 6).with_columns(plans)
    path = tmp_path / "plans.parquet"
    plant(frame, [burst], seed=2).write_parquet(path)
    expected = _utc(find_incidents(pl.read_parquet(path)))
    assert expected.select("kind", "dimension", "value").rows() == [("error_burst", "plan_id", "2")]
    assert abs(expected["start"][0] - AT) <= timedelta(hours=1)
    _refuse_polars_counts(monkeypatch)
    got = find_incidents(duckdb.read_parquet(str(path))).pl()
    assert_frame_equal(_utc(got), expected, check_dtypes=False)
