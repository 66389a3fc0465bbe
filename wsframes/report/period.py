"""Report periods: named periods (``last-7d``...) to half-open UTC windows, and file names.

Named periods are aligned to whole hours or days *in the display time zone*, so a report run by
cron at 00:05 or at 00:50 covers the same complete days and gets the same file name (re-running
it replaces the report instead of adding a near-duplicate).

>>> from datetime import datetime, timezone
>>> now = datetime(2026, 11, 26, 6, 30, tzinfo=timezone.utc)
>>> start, end = resolve_period("last-7d", tz="UTC", now=now)
>>> report_stem(start, end, plan_id=1, tz="UTC")
'wsframes-2026-11-19_2026-11-26-plan1'
>>> start, end = resolve_period("last-24h", tz="UTC", now=now)
>>> report_stem(start, end, plan_id=None, tz="Europe/Berlin")
'wsframes-2026-11-25T0700_2026-11-26T0700-default-plan-Europe-Berlin'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from wsframes.errors import ConfigurationError
from wsframes.timeutil import check_tz, utc_now

__all__ = ["PERIODS", "check_tz", "report_stem", "resolve_period"]

#: The named periods ``wsframes report --period`` accepts.
PERIODS = ("last-24h", "last-7d", "yesterday", "last-week", "last-month")


def resolve_period(period: str, *, tz: str = "UTC", now: datetime | None = None) -> tuple[datetime, datetime]:
    """The half-open UTC window ``[start, end)`` of a named period, aligned in *tz*.

    ``last-24h`` ends at the start of the current hour, ``last-7d`` and ``yesterday`` at the start
    of today, ``last-week`` covers the previous Monday-to-Monday week and ``last-month`` the
    previous calendar month. Only complete hours or days are covered.
    """
    zone = check_tz(tz)
    local = (now or utc_now()).astimezone(zone)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "last-24h":
        end = local.replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(hours=24)
    elif period == "last-7d":
        start, end = _days_back(today, 7), today
    elif period == "yesterday":
        start, end = _days_back(today, 1), today
    elif period == "last-week":
        end = _days_back(today, today.weekday())
        start = _days_back(end, 7)
    elif period == "last-month":
        end = today.replace(day=1)
        start = _days_back(end, 1).replace(day=1)
    else:
        raise ConfigurationError(f"period={period!r} is not one of {', '.join(PERIODS)}.")
    return start.astimezone(UTC), end.astimezone(UTC)


def _days_back(day: datetime, n: int) -> datetime:
    # Step in wall-clock days, then re-attach the zone: a DST change keeps midnight at midnight.
    naive = day.replace(tzinfo=None) - timedelta(days=n)
    return naive.replace(tzinfo=day.tzinfo)


def report_stem(start: datetime, end: datetime, *, plan_id: int | None, tz: str) -> str:
    """Deterministic file name (no extension) for the report of ``[start, end)`` on a plan.

    Bounds are written as local dates in *tz* when both fall on local midnight, else with the
    local hour and minute; a non-UTC zone is part of the name so reports never collide.
    """
    zone = check_tz(tz)
    lo, hi = start.astimezone(zone), end.astimezone(zone)
    midnight = all(t.hour == t.minute == t.second == t.microsecond == 0 for t in (lo, hi))
    fmt = "%Y-%m-%d" if midnight else "%Y-%m-%dT%H%M"
    plan = "default-plan" if plan_id is None else f"plan{plan_id}"
    stem = f"wsframes-{lo.strftime(fmt)}_{hi.strftime(fmt)}-{plan}"
    if tz.upper() != "UTC":
        stem += "-" + re.sub(r"[^A-Za-z0-9]+", "-", tz).strip("-")
    return stem
