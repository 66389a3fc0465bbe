"""The fake API's secondary endpoints: the CSV download and the stats."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from wsframes.fake import params as qp
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
    store = h.fake.stores[qp.plan_id(h.params, h.fake.stores, h.fake.default_plan)]
    params = {k: v for k, v in h.params.items() if k != "verification_category"}
    query = qp.parse_activity_query(params, h.fake.now())
    with h.fake.lock:
        lines = store.csv_lines(store.matching(query))
    h._send(200, CSV_HEADER.encode() + b"\r\n" + lines, "text/csv; charset=utf-8",
            {"Content-Disposition": 'attachment; filename="proxy_activity.csv"'})


def hourly_stats(h: Handler) -> None:
    """``GET /api/v2/stats/``: not yet implemented."""
    h._json(404, {"detail": "Not found."})


def aggregate_stats(h: Handler) -> None:
    """``GET /api/v2/stats/aggregate/``: not yet implemented."""
    h._json(404, {"detail": "Not found."})
