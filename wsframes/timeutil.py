"""Turning what users type for time into UTC instants and half-open windows.

Accepted for an instant: aware datetimes (converted to UTC), naive datetimes (taken as UTC),
dates (midnight UTC), ISO-8601 strings (with or without offset, date-only allowed) and relative
strings counted back from *now*: ``"90s"``, ``"90m"``, ``"24h"``, ``"7d"``, ``"2w"``.

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
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wsframes.errors import ConfigurationError

__all__ = [
    "API_RETENTION",
    "RETENTION",
    "RETENTION_SLACK",
    "Retention",
    "TimeLike",
    "check_retention",
    "check_tz",
    "clamp_to_retention",
    "parse_duration",
    "resolve_instant",
    "resolve_window",
    "utc_now",
]

#: How far back the Webshare API serves activity and stats.
API_RETENTION = timedelta(days=90)

#: A start within this much of the 90-day floor means "as far back as the API serves": clocks
#: move between resolving ``"90d"`` and the request reaching the API, so the floor itself is a
#: moving target. Such a start is moved just inside the floor instead of being refused.
RETENTION_SLACK = timedelta(minutes=1)

TimeLike = datetime | date | str

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


@dataclass(frozen=True, slots=True)
class Retention:
    """The one rule for how far back the API serves data: the 90-day floor, its slack, clamping.

    Every module asks this object (``RETENTION``) instead of computing ``now - 90 days`` itself.

    >>> now = datetime(2026, 11, 26, tzinfo=UTC)
    >>> RETENTION.floor(now=now).isoformat()
    '2026-08-28T00:00:00+00:00'
    >>> RETENTION.refetchable(now - timedelta(days=89), now=now)
    True
    """

    period: timedelta = API_RETENTION
    slack: timedelta = RETENTION_SLACK

    def floor(self, *, now: datetime | None = None) -> datetime:
        """The oldest instant the API serves at *now*."""
        return (now or utc_now()) - self.period

    def check(self, start: datetime, *, now: datetime | None = None) -> None:
        """Raise when *start* is older than the API keeps (less the slack)."""
        floor = self.floor(now=now)
        if start < floor - self.slack:
            raise ConfigurationError(
                f"start {start.isoformat()} is more than 90 days ago; the Webshare API only serves "
                f"the last 90 days (from {floor.isoformat(timespec='seconds')}). Use a later start, "
                "or read older history from a local archive (wsframes.sync / scan_activity)."
            )

    def clamp(self, start: datetime, *, now: datetime | None = None) -> datetime:
        """*start*, or just inside the floor when within the slack of it; raises when older."""
        now = now or utc_now()
        self.check(start, now=now)
        return max(start, self.floor(now=now) + self.slack)

    def refetchable(self, start: datetime, *, now: datetime | None = None,
                    margin: timedelta = timedelta(0)) -> bool:
        """Whether data from *start* on can still be fetched again (*margin* inside the floor)."""
        return start >= self.floor(now=now) + margin


#: The API's retention rule; use it rather than ``API_RETENTION`` arithmetic.
RETENTION = Retention()


def check_retention(start: datetime, *, now: datetime | None = None) -> None:
    """Raise when *start* is older than the API keeps activity (see :class:`Retention`)."""
    RETENTION.check(start, now=now)


def clamp_to_retention(start: datetime, *, now: datetime | None = None) -> datetime:
    """The start to request from the API (see :meth:`Retention.clamp`).

    >>> from datetime import datetime, timezone
    >>> now = datetime(2026, 11, 26, tzinfo=timezone.utc)
    >>> clamp_to_retention(now - API_RETENTION, now=now) == now - API_RETENTION + RETENTION_SLACK
    True
    """
    return RETENTION.clamp(start, now=now)


def check_tz(tz: str) -> ZoneInfo:
    """Return the zone named *tz* or raise a :class:`ConfigurationError` saying what to write."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigurationError(
            f"tz={tz!r} is not an IANA time zone; write e.g. 'UTC', 'Europe/Berlin' or 'America/New_York'."
        ) from None
