"""The fake API's secondary endpoints: the CSV download and the stats."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from wsframes.fake import params as qp
from wsframes.fake import stats
from wsframes.fake.render import CSV_HEADER

if TYPE_CHECKING:
    from wsframes.fake.handler import Handler

__all__ = ["aggregate_stats", "download_csv", "hourly_stats"]


def download_csv(h: Handler) -> None:
    """``GET /api/v2/proxy/activity/download/``: the CSV, authorised by ``download_token``."""
    token = h.params.get("download_token", "")
    if not secrets.compare_digest(token, str(h.fake.download_token["key"])):
        h._json(401, {"detail": "Invalid token."})
        return
    store = h.store(activity=True)
    params = {k: v for k, v in h.params.items() if k != "verification_category"}
    query = qp.parse_activity_query(params, h.fake.now())
    with h.fake.lock:
        lines = store.csv_lines(store.matching(query))
    h._send(200, CSV_HEADER.encode() + b"\r\n" + lines, "text/csv; charset=utf-8",
            {"Content-Disposition": 'attachment; filename="proxy_activity.csv"'})


def _window(h: Handler) -> tuple[pl.DataFrame, datetime, datetime]:
    """The plan's records inside the inclusive stats window, and the window itself."""
    store = h.store()
    now = h.fake.now()
    gte, lte = qp.time_bounds(h.params, now)
    start = qp.from_us(gte)
    end = now if lte is None else qp.from_us(lte)
    with h.fake.lock:
        truth = store.truth
    ts = pl.col("timestamp")
    return truth.filter((ts >= start) & (ts <= end)), start, end


def hourly_stats(h: Handler) -> None:
    """``GET /api/v2/stats/``: a bare array, one object per hour with activity."""
    df, _, end = _window(h)
    until = end if h.params.get("timestamp__lte") else None
    h._json(200, stats.hourly(df, h.fake.tz, now=h.fake.now(), until=until))


def aggregate_stats(h: Handler) -> None:
    """``GET /api/v2/stats/aggregate/``: one object over the window."""
    df, start, end = _window(h)
    h._json(200, stats.aggregate(df, h.fake.tz, start=start, end=end, now=h.fake.now()))
