"""No data is news, not health: critical alerts for a period without one request, or one success.

A stopped scraper, a wrong ``--plan-id`` or a revoked key's empty view all look the same in the
data: nothing. A report that shows nothing wrong about nothing would tell cron and its reader
that all is well, so an empty period is a critical alert of its own (and ``wsframes report``
exits 3 on it, see :mod:`wsframes.cli.report`).
"""

from __future__ import annotations

import polars as pl

from wsframes.report.data import ReportData, collect, count_rows
from wsframes.report.render import local

__all__ = ["NO_DATA_TITLE", "NO_SUCCESS_TITLE", "no_data_alerts"]

#: Title of the alert, for readers (and tests) that look for it.
NO_DATA_TITLE = "No data"
NO_SUCCESS_TITLE = "Nothing succeeded"


def no_data_alerts(data: ReportData, *, tz: str = "UTC") -> list[tuple[str, str, str]]:
    """``(level, title, detail)`` of the no-data alert when the period holds no request, else ``[]``.

    Plain tuples, so that :mod:`wsframes.report.findings` (which defines ``Alert``) can import
    this module without a cycle. The detail names the period in *tz* and, when the previous
    period was loaded, how many requests it had: the contrast is what tells an outage from a
    plan that was always idle.
    """
    if data.coverage.rows:
        return _nothing_succeeded(data, tz)
    detail = f"no requests at all in {local(data.start, tz)} → {local(data.end, tz)}"
    if data.previous is not None:
        detail += f"; the previous period had {count_rows(data.previous):,}"
    detail += (
        ". A stopped client, a wrong plan id or a key that sees no plan all look like this; "
        "every number below is empty, not healthy."
    )
    return [("critical", NO_DATA_TITLE, detail)]


def _nothing_succeeded(data: ReportData, tz: str) -> list[tuple[str, str, str]]:
    """Every request failed: uniformly bad hours raise no spike, yet this is no quiet period."""
    failed = int(collect(data.current.select(pl.col("error_reason").is_not_null().sum())).item())
    if failed < data.coverage.rows:
        return []
    detail = (
        f"all {failed:,} requests in {local(data.start, tz)} → {local(data.end, tz)} failed; "
        "see the error table below for what to fix."
    )
    return [("critical", NO_SUCCESS_TITLE, detail)]
