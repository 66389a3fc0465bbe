"""Bad input raises a ConfigurationError that names the problem, before any work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

import wsframes.analysis as wa
from wsframes.errors import ConfigurationError
from wsframes.schema import ACTIVITY_SCHEMA
from wsframes.timeutil import check_tz

Builder = Callable[..., pl.DataFrame]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda d: wa.latency_summary([1, 2, 3]), "Polars DataFrame or LazyFrame or a pandas DataFrame"),
        (lambda d: wa.latency_summary(d.drop("tunnel_duration")), "'tunnel_duration'"),
        (lambda d: wa.latency_summary(d, quantiles=(0.5, 1.5)), "between 0 and 1"),
        (lambda d: wa.latency_summary(d, quantiles=()), "between 0 and 1"),
        (lambda d: wa.latency_summary(d, metrics=[]), "metrics= is empty"),
        (lambda d: wa.latency_summary(d, method="fast"), "method='fast'"),
        (lambda d: wa.latency_summary(d, by="no_such_column"), "by= names a column"),
        (lambda d: wa.latency_summary(d, by=[3]), "column names, Polars expressions or 'outcome'"),
        (lambda d: wa.latency_summary(d, method="sketch", alpha=2), "alpha=2"),
        (lambda d: wa.latency_summary(d, by="handshake_duration"), "both a group key"),
        (lambda d: wa.latency_histogram(d, bins=[1.0, 0.5]), "strictly increasing"),
        (lambda d: wa.latency_histogram(d, bins=0), "positive number of bins"),
        (lambda d: wa.latency_over_time(d, tz="Mars/Olympus"), "IANA time zone"),
        (lambda d: wa.traffic_over_time(d, every="soon"), "every='soon'"),
        (lambda d: wa.estimated_concurrency(d, every="1mo"), "is not a duration"),
        (lambda d: wa.slo_attainment(d, threshold=-1), "threshold=-1"),
        (lambda d: wa.error_taxonomy(d, confidence=95), "confidence=95"),
        (lambda d: wa.top_offenders(d, sort_by="colour"), "sort_by='colour'"),
        (lambda d: wa.top_offenders(d, n=0), "n=0"),
        (lambda d: wa.pool_health(d, min_requests=0), "min_requests=0"),
        (lambda d: wa.error_taxonomy(d.drop("error_reason")), "'error_reason'"),
        (lambda d: wa.error_taxonomy(d, by="error_reason"), "one row per error_reason"),
    ],
)
def test_bad_input_is_explained(activity: Builder, call: Callable[[Any], Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        call(activity(3))


def _exploding(activity: Builder) -> pl.LazyFrame:
    """A lazy source whose schema is known but whose rows cannot be read."""

    def boom(_: pl.DataFrame) -> pl.DataFrame:
        raise RuntimeError("the data was read")

    return activity(3).lazy().map_batches(boom, schema=ACTIVITY_SCHEMA)


def test_validation_happens_before_any_data_is_read(activity: Builder) -> None:
    with pytest.raises(ConfigurationError, match="IANA"):
        wa.traffic_over_time(_exploding(activity), tz="Nowhere/Special")


@pytest.mark.parametrize(
    "call",
    [
        lambda lf: wa.latency_summary(lf, by="outcome"),
        lambda lf: wa.error_taxonomy(lf),
        lambda lf: wa.latency_ccdf(lf),
        lambda lf: wa.estimated_concurrency(lf),
        lambda lf: wa.compare_periods(lf, lf).summary,
    ],
)
def test_lazy_in_reads_nothing_until_collected(activity: Builder, call: Callable[[Any], Any]) -> None:
    out = call(_exploding(activity))
    assert isinstance(out, pl.LazyFrame)
    with pytest.raises(Exception, match="the data was read"):
        out.collect()


@pytest.mark.parametrize("every", ["0h", "0m", "0d"])
@pytest.mark.parametrize("helper", [wa.traffic_over_time, wa.error_rate_over_time, wa.latency_over_time])
def test_zero_intervals_are_refused_in_plain_words(activity: Builder, helper: Any, every: str) -> None:
    with pytest.raises(ConfigurationError, match=f"every='{every}' must be a positive duration"):
        helper(activity(5), every=every)


def test_a_pandas_frame_read_back_from_the_packages_own_csv_just_works(activity: Builder, tmp_path) -> None:
    pd = pytest.importorskip("pandas")
    from pathlib import Path

    from wsframes.cli.fetch import write_frame

    df = activity(30)
    write_frame(df, Path(tmp_path) / "a.csv")
    back = pd.read_csv(Path(tmp_path) / "a.csv")  # timestamps stay text, as most users read it
    assert not pd.api.types.is_datetime64_any_dtype(back["timestamp"])
    got = wa.traffic_over_time(back, every="1h")
    assert int(got["requests"].sum()) == 30
    assert str(got["time"].dt.tz) == "UTC"
    assert int(wa.error_rate_over_time(back, every="1h")["requests"].sum()) == 30


def test_text_timestamps_that_do_not_parse_are_refused_clearly(activity: Builder) -> None:
    df = activity(3).with_columns(pl.lit("yesterday noon").alias("timestamp"))
    with pytest.raises(ConfigurationError, match=r"not ISO 8601 .*'yesterday noon'"):
        wa.traffic_over_time(df)


def test_a_timestamp_of_the_wrong_dtype_is_refused(activity: Builder) -> None:
    df = activity(3).with_columns(pl.lit(5).alias("timestamp"))
    with pytest.raises(ConfigurationError, match="needs 'timestamp' as a datetime"):
        wa.error_rate_over_time(df)


def test_engine_errors_never_reach_the_user_raw(activity: Builder) -> None:
    df = activity(3).with_columns(pl.lit("lots").alias("bytes"))  # text where a number belongs
    with pytest.raises(ConfigurationError, match=r"needs numbers, but .bytes. is String"):
        wa.traffic_over_time(df)


@pytest.mark.parametrize(
    "call",
    [
        lambda d, tz: wa.hourly_profile(d, tz=tz),
        lambda d, tz: wa.traffic_over_time(d, tz=tz),
        lambda d, tz: wa.estimated_concurrency(d, tz=tz),
        lambda d, tz: wa.find_incidents(d, tz=tz),
        lambda d, tz: wa.Incidents(d, tz=tz),
    ],
    ids=["hourly_profile", "traffic_over_time", "estimated_concurrency", "find_incidents", "Incidents"],
)
def test_one_time_zone_check_says_the_same_everywhere(activity: Builder, call: Callable[..., Any]) -> None:
    with pytest.raises(ConfigurationError) as want:
        check_tz("Mars/Olympus")
    with pytest.raises(ConfigurationError) as got:
        call(activity(3), "Mars/Olympus")
    assert str(got.value) == str(want.value)
