"""Time parsing and windows: what users type becomes exact UTC instants, or a clear error."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import polars as pl
import pytest

from wsframes.errors import ConfigurationError
from wsframes.timeutil import check_retention, parse_duration, resolve_instant, resolve_window

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "delta"),
    [("90s", timedelta(seconds=90)), ("90m", timedelta(minutes=90)), ("24h", timedelta(hours=24)),
     ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2)), ("1.5h", timedelta(minutes=90))],
)
def test_relative_strings_count_back_from_now(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta
    assert resolve_instant(text, now=NOW) == NOW - delta


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 1, 8, 30), datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),  # naive = UTC
        (datetime(2026, 11, 1, 1, 0, tzinfo=timezone(timedelta(hours=-7))),
         datetime(2026, 11, 1, 8, 0, tzinfo=UTC)),
        (date(2026, 11, 1), datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T13:30:00+05:30", datetime(2026, 11, 1, 8, 0, tzinfo=UTC)),
        ("2026-11-01T08:00:00Z", datetime(2026, 11, 1, 8, 0, tzinfo=UTC)),
        ("2026-11-01 08:00:00.000001", datetime(2026, 11, 1, 8, 0, 0, 1, tzinfo=UTC)),
    ],
)
def test_instants_normalise_to_utc(value: object, expected: datetime) -> None:
    got = resolve_instant(value, now=NOW)  # type: ignore[arg-type]
    assert got == expected
    assert got.tzinfo == UTC


@pytest.mark.parametrize("bad", ["7 days", "yesterday", "d7", "", "2026-13-01"])
def test_unknown_strings_say_what_to_write(bad: str) -> None:
    with pytest.raises(ConfigurationError, match=r"'7d'|'90m'"):
        resolve_instant(bad, now=NOW, name="start")


def test_non_time_types_are_refused_by_name() -> None:
    with pytest.raises(ConfigurationError, match="start must be a datetime"):
        resolve_instant(1234, now=NOW, name="start")  # type: ignore[arg-type]


def test_window_defaults_end_to_now_and_is_ordered() -> None:
    assert resolve_window("1h", now=NOW) == (NOW - timedelta(hours=1), NOW)
    with pytest.raises(ConfigurationError, match="must be before end"):
        resolve_window("2026-11-02", "2026-11-01", now=NOW)
    with pytest.raises(ConfigurationError, match="half-open"):
        resolve_window(NOW, NOW, now=NOW)


def test_retention_floor_is_ninety_days_less_a_minute_of_slack() -> None:
    check_retention(NOW - timedelta(days=90, seconds=59), now=NOW)
    with pytest.raises(ConfigurationError, match="90 days") as info:
        check_retention(NOW - timedelta(days=90, seconds=61), now=NOW)
    assert "archive" in str(info.value)


def test_a_start_at_the_floor_means_as_far_back_as_the_api_serves() -> None:
    from wsframes.timeutil import API_RETENTION, RETENTION_SLACK, clamp_to_retention

    floor = NOW - API_RETENTION
    # "90d" resolved a moment earlier than the check: moved just inside the floor, not refused
    assert clamp_to_retention(floor - RETENTION_SLACK / 2, now=NOW) == floor + RETENTION_SLACK
    later = floor + timedelta(hours=1)
    assert clamp_to_retention(later, now=NOW) == later  # anything younger is left alone
    with pytest.raises(ConfigurationError, match="90 days"):
        clamp_to_retention(floor - 2 * RETENTION_SLACK, now=NOW)


def test_every_retention_margin_is_measured_from_the_one_floor() -> None:
    from wsframes.archive.completeness import stats_floor
    from wsframes.archive.integrity import refetchable
    from wsframes.archive.manifest import Manifest
    from wsframes.archive.sync import plan_gaps
    from wsframes.timeutil import RETENTION_SLACK, clamp_to_retention, retention_floor

    floor = retention_floor(NOW)
    assert floor == NOW - timedelta(days=90)
    assert retention_floor(NOW, RETENTION_SLACK) == floor + RETENTION_SLACK
    # A day is refetchable from the moment its midnight is a slack inside the floor.
    midnight = datetime(2026, 9, 1, tzinfo=UTC)
    assert refetchable(midnight.date(), now=midnight + timedelta(days=90) - RETENTION_SLACK)
    assert not refetchable(midnight.date(), now=midnight + timedelta(days=90))
    # Hourly stats start on the first whole hour at least an hour inside the floor.
    assert stats_floor(NOW) == floor + timedelta(hours=1)
    assert stats_floor(NOW + timedelta(minutes=1)) == floor + timedelta(hours=2)
    # sync's clamp is the loader's: a gap starting within the slack of the floor starts where a
    # direct load would; a load through the archive refuses it instead of trimming the window.
    near = floor - RETENTION_SLACK / 2
    (gap,) = plan_gaps(Manifest(), "1", (near, NOW), now=NOW, clamp=True)
    assert gap == (clamp_to_retention(near, now=NOW), NOW)
    with pytest.raises(ConfigurationError, match="90 days"):
        plan_gaps(Manifest(), "1", (near, NOW), now=NOW)


@pytest.mark.parametrize(
    "column",
    [
        pl.Series([datetime(2026, 11, 1, 8)]),  # naive = UTC
        pl.Series([datetime(2026, 11, 1, 8, tzinfo=UTC)]).dt.convert_time_zone("Asia/Kolkata"),
        pl.Series(["2026-11-01T10:00:00+02:00"]),  # text from a CSV: the offset is honoured
        pl.Series(["2026-11-01 08:00:00"]),  # text without an offset = UTC
    ],
)
def test_a_timestamp_column_is_made_utc_by_one_rule(column: pl.Series) -> None:
    from wsframes.timeutil import as_utc

    for frame in (pl.DataFrame({"timestamp": column}), pl.LazyFrame({"timestamp": column})):
        got = pl.DataFrame(as_utc(frame, what="test").lazy().collect())["timestamp"]
        assert got.dtype.time_zone == "UTC"  # type: ignore[attr-defined]
        assert got.to_list() == [datetime(2026, 11, 1, 8, tzinfo=UTC)]


def test_analysis_and_report_read_naive_aware_and_text_timestamps_alike() -> None:
    from polars.testing import assert_frame_equal

    import wsframes.analysis as wa
    from wsframes.fake import generate_activity
    from wsframes.report.inputs import check_covers, data_extent
    from wsframes.timeutil import as_utc

    utc = generate_activity(60, start=NOW - timedelta(hours=5), end=NOW, seed=4)
    ts = pl.col("timestamp")
    shapes = {
        "naive": utc.with_columns(ts.dt.replace_time_zone(None)),
        "aware": utc.with_columns(ts.dt.convert_time_zone("America/New_York")),
        "text": utc.with_columns(ts.dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z")),
    }
    for name, frame in shapes.items():
        assert data_extent(frame) == data_extent(utc), name
        check_covers(frame, NOW - timedelta(hours=1), NOW)  # compares with UTC bounds
        assert_frame_equal(wa.traffic_over_time(frame, every="1h"), wa.traffic_over_time(utc, every="1h"))
        assert_frame_equal(as_utc(frame, what=name), utc)
    with pytest.raises(ConfigurationError, match=r"traffic_over_time\(\) found text timestamps"):
        wa.traffic_over_time(utc.with_columns(pl.lit("noon").alias("timestamp")))
