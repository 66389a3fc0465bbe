"""Turning what users type for time into UTC instants and half-open windows.

Accepted for an instant: aware datetimes (converted to UTC), naive datetimes (taken as UTC),
dates (midnight UTC), ISO-8601 strings (with or without offset, date-only allowed) and relative
strings counted back from *now*: ``"90s"``, ``"90m"``, ``"24h"``, ``"7d"``, ``"2w"``.

A frame's ``timestamp`` column follows the same rule (:func:`as_utc`, used by the analysis
helpers and the report alike): aware datetimes are converted to UTC, naive ones are taken as UTC,
ISO-8601 text (a CSV read back) is parsed, an offset honoured and none meaning UTC.

Windows are half-open ``[start, end)`` everywhere in wsframes, so consecutive windows never
double-count. The API's inclusive bounds are an implementation detail of :mod:`wsframes.api`.

>>> from datetime import datetime, timezone
>>> now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
>>> start, end = resolve_window("24h", None, now=now)
>>> start.isoformat(), end.isoformat()
('2026-11-25T12:00:00+00:00', '2026-11-26T12:00:00+00:00')
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from wsframes.errors import ConfigurationError

__all__ = [
    "API_RETENTION",
    "RETENTION_SLACK",
    "TimeLike",
    "as_utc",
    "check_retention",
    "check_tz",
    "clamp_to_retention",
    "parse_duration",
    "resolve_instant",
    "resolve_window",
    "retention_floor",
    "utc_now",
]

#: How far back the Webshare API serves activity and stats.
API_RETENTION = timedelta(days=90)

#: A start within this much of the 90-day floor means "as far back as the API serves": clocks
#: move between resolving ``"90d"`` and the request reaching the API, so the floor itself is a
#: moving target. Such a start is moved just inside the floor instead of being refused. It is
#: also the tolerance at the floor (clock skew, request latency) for a day to be fetched again whole.
RETENTION_SLACK = timedelta(minutes=1)

TimeLike = datetime | date | str
_Frame = TypeVar("_Frame", pl.DataFrame, pl.LazyFrame)

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def parse_duration(text: str) -> timedelta:
    """Parse ``"90m"``, ``"24h"``, ``"7d"``... into a timedelta.

    >>> parse_duration("90m")
    datetime.timedelta(seconds=5400)
    """
    match = _RELATIVE.match(text)
    if not match:
        raise ConfigurationError(
            f"{text!r} is not a duration; write a number and one unit of "
            "s (seconds), m (minutes), h (hours), d (days) or w (weeks), e.g. '90m', '24h', '7d'."
        )
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def resolve_instant(value: TimeLike, *, now: datetime | None = None, name: str = "time") -> datetime:
    """Turn one user-given time into an aware UTC datetime (see the module docstring)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{name} must be a datetime, a date or a string such as '7d' or '2026-11-01', "
            f"not {type(value).__name__}."
        )
    if _RELATIVE.match(value):
        return (now or utc_now()) - parse_duration(value)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigurationError(
            f"{name}={value!r} is neither an ISO-8601 time (e.g. '2026-11-01T00:00:00+00:00') "
            "nor a relative time (e.g. '90m', '24h', '7d')."
        ) from None
    return resolve_instant(parsed, now=now, name=name)


def resolve_window(
    start: TimeLike, end: TimeLike | None = None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """Resolve a half-open window ``[start, end)``; ``end`` defaults to *now*.

    Raises :class:`ConfigurationError` when ``start >= end``.
    """
    now = now or utc_now()
    lo = resolve_instant(start, now=now, name="start")
    hi = now if end is None else resolve_instant(end, now=now, name="end")
    if lo >= hi:
        raise ConfigurationError(
            f"start ({lo.isoformat()}) must be before end ({hi.isoformat()}); "
            "the window is half-open [start, end)."
        )
    return lo, hi


def retention_floor(now: datetime | None = None, margin: timedelta = timedelta(0)) -> datetime:
    """The oldest instant the API serves at *now* (``now - 90 days``), plus *margin*.

    The one retention rule: every module asks it rather than computing ``now - 90 days``. Its
    margins are :data:`RETENTION_SLACK` for a request's start (:func:`clamp_to_retention`, a day
    still refetchable) and, for hourly stats, one hour (:func:`wsframes.archive.completeness.stats_floor`).

    >>> retention_floor(datetime(2026, 11, 26, tzinfo=UTC)).isoformat()
    '2026-08-28T00:00:00+00:00'
    """
    return (now or utc_now()) - API_RETENTION + margin


def check_retention(start: datetime, *, now: datetime | None = None) -> None:
    """Raise when *start* is older than the API keeps activity, less :data:`RETENTION_SLACK`."""
    floor = retention_floor(now)
    if start < floor - RETENTION_SLACK:
        raise ConfigurationError(
            f"start {start.isoformat()} is more than 90 days ago; the Webshare API only serves "
            f"the last 90 days (from {floor.isoformat(timespec='seconds')}). Use a later start, "
            "or read older history from a local archive (wsframes.sync / scan_activity)."
        )


def clamp_to_retention(start: datetime, *, now: datetime | None = None) -> datetime:
    """The start to request from the API: *start*, or just inside the floor when within the slack
    of it (see :data:`RETENTION_SLACK`); raises when older.

    >>> now = datetime(2026, 11, 26, tzinfo=UTC)
    >>> clamp_to_retention(now - API_RETENTION, now=now) == retention_floor(now, RETENTION_SLACK)
    True
    """
    now = now or utc_now()
    check_retention(start, now=now)
    return max(start, retention_floor(now, RETENTION_SLACK))


def check_tz(tz: str) -> ZoneInfo:
    """Return the zone named *tz* or raise a :class:`ConfigurationError` saying what to write."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigurationError(
            f"tz={tz!r} is not an IANA time zone; write e.g. 'UTC', 'Europe/Berlin' or 'America/New_York'."
        ) from None


def as_utc(frame: _Frame, *, what: str) -> _Frame:
    """*frame* with its ``timestamp`` as a UTC datetime, by the module's rule; *what* names the
    caller in errors (``"traffic_over_time()"``).

    An eager frame's text is parsed at once, so text that is not ISO 8601 is refused here, naming a
    sample; a lazy frame stays lazy (and fails when collected). A UTC column is left as it is.

    >>> naive = pl.DataFrame({"timestamp": [datetime(2026, 11, 1, 8)]})
    >>> as_utc(naive, what="doctest")["timestamp"].dtype
    Datetime(time_unit='us', time_zone='UTC')
    """
    dtype = frame.collect_schema().get("timestamp")
    ts = pl.col("timestamp")
    if dtype is None or (isinstance(dtype, pl.Datetime) and dtype.time_zone == "UTC"):
        return frame
    if isinstance(dtype, pl.Datetime):
        naive = dtype.time_zone is None
        return frame.with_columns(ts.dt.replace_time_zone("UTC") if naive else ts.dt.convert_time_zone("UTC"))
    if not isinstance(dtype, pl.String):
        raise ConfigurationError(
            f"{what} needs 'timestamp' as a datetime (UTC), but it is {dtype}; convert it first, "
            "e.g. pl.col('timestamp').cast(pl.Datetime('us', 'UTC'))."
        )
    parse = ts.str.to_datetime(time_zone="UTC", time_unit="us")
    if isinstance(frame, pl.LazyFrame):
        return frame.with_columns(parse)
    try:
        return frame.with_columns(parse)
    except pl.exceptions.PolarsError:
        sample = frame.select(ts.drop_nulls().first()).item()
        raise ConfigurationError(
            f"{what} found text timestamps that are not ISO 8601 (e.g. {str(sample)[:40]!r}); parse "
            "them to UTC datetimes first, e.g. pl.col('timestamp').str.to_datetime(time_zone='UTC')."
        ) from None
