"""Holes inside the data: runs of empty hours where the same hours of other days were busy.

The edge rule (:func:`wsframes.report.data.coverage`) catches data that starts late or stops
early; this catches a stretch missing from the middle, e.g. an export that skipped half a day.

The rule, and why. An empty hour is only suspicious against what that hour usually carries, so
each hour's expected traffic is the **median count of the same local hour of the day on the
window's other days of the same kind** (weekdays with weekdays, weekend days with weekend days):

- a median, so one odd day (or the hole itself) does not set the baseline;
- the same hour of the day, so the quiet nights of someone who works by day expect ~0;
- the same kind of day, so a weekday-only user's silent weekend expects ~0 too.

A run of consecutive empty hours, strictly between the first and last hour with data, is a gap
when it lasts at least :data:`MIN_GAP_HOURS` and the hours in it would have carried at least
:data:`MIN_EXPECTED_REQUESTS` in all: were requests independent, an empty run expecting 30 has
a chance of e^-30 of happening by luck, and a sparse user (a few requests an hour) needs a
hole of many hours before it counts. It needs :data:`MIN_DAYS` days of each kind for a baseline,
so windows shorter than three days, or with a single weekend day, are judged on the hours they
have: a kind of day seen fewer times gives no baseline and no alert (one day can't tell a quiet
night from an outage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

__all__ = ["MIN_DAYS", "MIN_EXPECTED_REQUESTS", "MIN_GAP_HOURS", "Gap", "interior_gaps"]

MIN_GAP_HOURS = 2
MIN_EXPECTED_REQUESTS = 30
MIN_DAYS = 2


@dataclass(frozen=True)
class Gap:
    """Empty hours ``[start, end)`` (UTC) that usually carry traffic, and how many requests."""

    start: datetime
    end: datetime
    expected: float

    @property
    def hours(self) -> int:
        """How many whole hours are empty."""
        return int((self.end - self.start) / timedelta(hours=1))


def interior_gaps(frame: pl.DataFrame, start: datetime, end: datetime, *, tz: str = "UTC") -> list[Gap]:
    """The gaps (see the module docstring) of *frame* inside ``[start, end)``, oldest first.

    >>> from datetime import UTC
    >>> t0 = datetime(2026, 11, 2, tzinfo=UTC)
    >>> ts = [t0 + timedelta(minutes=m) for m in range(0, 7 * 24 * 60, 2)]  # 30 an hour, all week
    >>> hole = pl.col("timestamp").is_between(t0 + timedelta(hours=50), t0 + timedelta(hours=56), "left")
    >>> df = pl.DataFrame({"timestamp": ts}).filter(~hole)
    >>> [(g.start.isoformat(), g.hours, g.expected) for g in interior_gaps(df, t0, t0 + timedelta(days=7))]
    [('2026-11-04T02:00:00+00:00', 6, 180.0)]
    """
    if frame.is_empty():
        return []
    hour = pl.col("timestamp").dt.truncate("1h")
    counts = frame.group_by(hour.alias("hour")).agg(pl.len().alias("n"))
    first = datetime.fromtimestamp(start.timestamp() // 3600 * 3600, start.tzinfo)
    grid = pl.datetime_range(first, end, "1h", closed="left", time_zone="UTC", eager=True)
    local = pl.col("hour").dt.convert_time_zone(tz)
    hours = (
        grid.alias("hour")
        .to_frame()
        .join(counts.with_columns(pl.col("hour").dt.convert_time_zone("UTC")), on="hour", how="left")
        .with_columns(
            pl.col("n").fill_null(0),
            hod=local.dt.hour(),
            weekend=local.dt.weekday() >= 6,
            day=local.dt.date(),
        )
    )
    baseline = hours.group_by("hod", "weekend").agg(
        pl.when(pl.col("day").n_unique() >= MIN_DAYS)
        .then(pl.col("n").median())
        .otherwise(0.0)
        .alias("expected")
    )
    busy = hours.filter(pl.col("n") > 0)["hour"]
    inside = pl.col("hour").is_between(busy.min(), busy.max())
    runs = (
        hours.join(baseline, on=["hod", "weekend"], how="left")
        .sort("hour")
        .with_columns(run=(pl.col("n") > 0).rle_id())
        .filter(inside & (pl.col("n") == 0))
        .group_by("run")
        .agg(
            # Shown from the first to the last hour that usually has traffic: the quiet night
            # before a missing working day is not part of what is missing.
            pl.col("hour").filter(pl.col("expected") > 0).min().alias("start"),
            (pl.col("hour").filter(pl.col("expected") > 0).max() + pl.duration(hours=1)).alias("end"),
            pl.len().alias("hours"),
            pl.col("expected").sum(),
        )
        .filter((pl.col("hours") >= MIN_GAP_HOURS) & (pl.col("expected") >= MIN_EXPECTED_REQUESTS))
        .sort("start")
    )
    return [Gap(row["start"], row["end"], float(row["expected"])) for row in runs.iter_rows(named=True)]
