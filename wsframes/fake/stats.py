"""Hourly and aggregate stats computed from the same records the activity list serves.

Hours are UTC hours (``[HH:00, HH+1:00)`` UTC), rendered in the account time zone, so in a
``+05:30`` zone an hour reads ``HH:30``. Hours without records are omitted. When
``timestamp__lte`` lies in the future, every future hour up to it is added as a projection
(``is_projected: true``, empty breakdowns, totals equal to the mean of the real hours).

>>> from datetime import datetime, timedelta, timezone
>>> from wsframes.fake.generate import generate_activity
>>> now = datetime(2026, 11, 26, tzinfo=timezone.utc)
>>> df = generate_activity(400, start=now - timedelta(hours=5), end=now, seed=2)
>>> hours = hourly(df, "UTC", now=now, until=None)
>>> sum(h["requests_total"] for h in hours) == 400
True
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl

from wsframes.fake.catalog import HOW_TO_FIX, UNKNOWN_CODE
from wsframes.fake.proxies import country_index
from wsframes.fake.render import render_timestamps
from wsframes.schema import describe_error

__all__ = ["aggregate", "hourly"]

_COUNTRIES = ("US", "DE", "GB", "NL", "FR", "JP", "CA")


def _error_entry(code: str, count: int) -> dict[str, Any]:
    info = describe_error(code)
    kind, status = info.type, info.http_status
    if code == UNKNOWN_CODE:  # the server knows the code even if wsframes' catalogue does not
        kind, status = "connection", 504
    return {"reason": code, "type": kind, "how_to_fix": HOW_TO_FIX.get(code, ""),
            "http_status": status, "count": count}


def _summaries(df: pl.DataFrame, keys: list[str], seconds: float) -> list[dict[str, Any]]:
    """One summary per group of *keys* (no keys: the whole frame)."""
    failed = pl.col("error_reason").is_not_null()
    country = pl.col("listen_address").cast(pl.String).hash(seed=3) % len(_COUNTRIES)
    country = country_index(_COUNTRIES, country.cast(pl.Int64))  # the pool's countries (fake/proxies.py)
    agg = [
        pl.col("bytes").sum().alias("bandwidth_total"),
        pl.len().alias("requests_total"),
        (~failed).sum().alias("requests_successful"),
        failed.sum().alias("requests_failed"),
        pl.col("listen_address").n_unique().alias("number_of_proxies_used"),
        (pl.col("request_duration").sum() / seconds).alias("average_concurrency"),
        pl.col("timestamp").max().alias("last"),
    ]
    frame = df.with_columns(_country=country)
    base = frame.group_by(keys, maintain_order=True).agg(agg) if keys else frame.select(agg)
    per = {
        name: _breakdown(frame, keys, col)
        for name, col in (("error_reasons", "error_reason"), ("countries_used", "_country"),
                          ("protocols_used", "protocol"))
    }
    out: list[dict[str, Any]] = []
    for row in base.iter_rows(named=True):
        key = tuple(row[k] for k in keys)
        total = row["requests_total"]
        out.append({
            **{k: row[k] for k in keys},
            "is_projected": False,
            "bandwidth_total": row["bandwidth_total"],
            "bandwidth_average": round(row["bandwidth_total"] / total) if total else 0,
            "requests_total": total,
            "requests_successful": row["requests_successful"],
            "requests_failed": row["requests_failed"],
            "error_reasons": [_error_entry(c, n) for c, n in per["error_reasons"].get(key, [])],
            "countries_used": {_COUNTRIES[c]: n for c, n in per["countries_used"].get(key, [])},
            "number_of_proxies_used": row["number_of_proxies_used"],
            "protocols_used": dict(per["protocols_used"].get(key, [])),
            "average_concurrency": round(row["average_concurrency"] or 0.0, 4),
            "average_rps": round(total / seconds, 4),
            "last": row["last"],
        })
    return out


def _breakdown(frame: pl.DataFrame, keys: list[str], col: str) -> dict[tuple[Any, ...], list[Any]]:
    """Group key -> [(value, count), ...] of a column's non-null values, most frequent first."""
    counts = (
        frame.filter(pl.col(col).is_not_null())
        .group_by([*keys, pl.col(col).cast(pl.String if col != "_country" else pl.Int64)])
        .len()
        .sort([*keys, "len", col], descending=[False] * len(keys) + [True, False])
    )
    out: dict[tuple[Any, ...], list[Any]] = {}
    for row in counts.iter_rows():
        out.setdefault(tuple(row[: len(keys)]), []).append((row[len(keys)], row[-1]))
    return out


def _render_instant(ts: datetime | None, tz: str) -> str | None:
    if ts is None:
        return None
    return str(render_timestamps(pl.Series([ts]), tz).item())


def hourly(df: pl.DataFrame, tz: str, *, now: datetime, until: datetime | None) -> list[Any]:
    """The ``/api/v2/stats/`` array for the records *df* (already cut to the window)."""
    frame = df.with_columns(hour=pl.col("timestamp").dt.truncate("1h")).sort("hour")
    rows = _summaries(frame, ["hour"], 3600.0)
    hours = [r.pop("hour") for r in rows]
    stamps = render_timestamps(pl.Series(hours, dtype=pl.Datetime("us", "UTC")), tz).to_list()
    for row in rows:
        row["last_request_sent_at"] = _render_instant(row.pop("last"), tz)
    out = [{"timestamp": s, **r} for s, r in zip(stamps, rows, strict=True)]
    if until is not None and until > now:
        out.extend(_projection(out, tz, now=now, until=until))
    return out


def _projection(real: list[dict[str, Any]], tz: str, *, now: datetime, until: datetime) -> list[Any]:
    """Future hours (after the current one) up to *until*, valued at the mean real hour."""
    n = max(len(real), 1)
    mean_requests = round(sum(r["requests_total"] for r in real) / n)
    mean_bytes = round(sum(r["bandwidth_total"] for r in real) / n)
    first = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    hours = []
    t = first
    while t <= until:
        hours.append(t)
        t += timedelta(hours=1)
    stamps = render_timestamps(pl.Series(hours, dtype=pl.Datetime("us", "UTC")), tz).to_list()
    return [
        {"timestamp": s, "is_projected": True, "bandwidth_total": mean_bytes,
         "bandwidth_average": round(mean_bytes / mean_requests) if mean_requests else 0,
         "requests_total": mean_requests, "requests_successful": 0, "requests_failed": 0,
         "error_reasons": [], "countries_used": {}, "number_of_proxies_used": 0,
         "protocols_used": {}, "average_concurrency": 0.0,
         "average_rps": round(mean_requests / 3600, 4), "last_request_sent_at": None}
        for s in stamps
    ]


def aggregate(
    df: pl.DataFrame, tz: str, *, start: datetime, end: datetime, now: datetime
) -> dict[str, Any]:
    """The ``/api/v2/stats/aggregate/`` object over ``[start, end]``.

    ``bandwidth_projected`` extrapolates the observed rate to *end* when it lies in the future.
    """
    observed_end = min(end, now)
    seconds = max((observed_end - start).total_seconds(), 1.0)
    row = _summaries(df, [], seconds)[0]
    row["last_request_sent_at"] = _render_instant(row.pop("last"), tz)
    future = max((end - now).total_seconds(), 0.0)
    row["bandwidth_projected"] = round(row["bandwidth_total"] * (1 + future / seconds))
    row.pop("is_projected")
    return row
