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

The median is taken twice, the second time without the empty runs found the first time: a long
hole is otherwise part of its own baseline (a 60-hour hole empties three of five weekdays, so
the median of those hours is zero) and its reported ends were shaved by half a day each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from wsframes.analysis.incidents._events import seasonal_gaps

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


def interior_gaps(
    frame: pl.DataFrame | pl.LazyFrame, start: datetime, end: datetime, *, tz: str = "UTC"
) -> list[Gap]:
    """The gaps (see the module docstring) of *frame* inside ``[start, end)``, oldest first.

    >>> from datetime import UTC
    >>> t0 = datetime(2026, 11, 2, tzinfo=UTC)
    >>> ts = [t0 + timedelta(minutes=m) for m in range(0, 7 * 24 * 60, 2)]  # 30 an hour, all week
    >>> hole = pl.col("timestamp").is_between(t0 + timedelta(hours=50), t0 + timedelta(hours=56), "left")
    >>> df = pl.DataFrame({"timestamp": ts}).filter(~hole)
    >>> [(g.start.isoformat(), g.hours, g.expected) for g in interior_gaps(df, t0, t0 + timedelta(days=7))]
    [('2026-11-04T02:00:00+00:00', 6, 180.0)]
    """
    hourly = frame.lazy().group_by(pl.col("timestamp").dt.truncate("1h").alias("t")).agg(pl.len().alias("n"))
    counts = hourly.collect(engine="streaming")
    if counts.is_empty():
        return []
    first = datetime.fromtimestamp(start.timestamp() // 3600 * 3600, start.tzinfo)
    runs = seasonal_gaps(
        counts,
        first=first,
        end=end,
        every=timedelta(hours=1),
        tz=tz,
        min_buckets=MIN_GAP_HOURS,
        min_expected=MIN_EXPECTED_REQUESTS,
        min_days=MIN_DAYS,
    )
    return [Gap(row["start"], row["end"], float(row["expected"])) for row in runs.iter_rows(named=True)]
