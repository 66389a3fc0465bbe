"""The demo report: an embedded fake Webshare API with a fixed seed, so no key is needed.

The data goes the whole real way: the kernel loads it over HTTP from the fake server (on
loopback) with the same loader a real report uses.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from typing import Any

from wsframes.report.builder import ReportResult, build_report
from wsframes.report.period import resolve_period
from wsframes.timeutil import utc_now

__all__ = ["DEMO_RECORDS", "DEMO_SEED", "build_demo_report"]

log = logging.getLogger(__name__)

#: Records per week in the demo: realistic volume that still builds in seconds.
DEMO_RECORDS = 250_000
DEMO_SEED = 20261126


def build_demo_report(
    *,
    out_dir: str | os.PathLike[str] = "reports",
    records: int = DEMO_RECORDS,
    period: str = "last-7d",
    tz: str = "UTC",
    compare_previous: bool = True,
    anonymize_clients: bool = False,
    seed: int = DEMO_SEED,
    **kwargs: Any,
) -> ReportResult:
    """Build a report from an embedded :class:`~wsframes.fake.FakeWebshare` (plan 1).

    The fake holds *records* per period length for the period and the one before it, so the
    comparison has data; the data is the same for a given seed and period.
    Other keyword arguments go to :func:`build_report`.
    """
    from wsframes.fake import FakeWebshare, generate_activity

    now = kwargs.pop("now", None) or utc_now()
    start, end = resolve_period(period, tz=tz, now=now)
    span = end - start
    data_start = start - span
    volume = int(records * (2 if compare_previous else 1))
    history = generate_activity(volume, start=data_start if compare_previous else start, end=end, seed=seed)
    key = "demo-" + secrets.token_hex(12)  # a throwaway: proves the key path without a real one
    with FakeWebshare(key, plans={1: history}, page_cap=20_000, now=end + timedelta(minutes=5)) as fake:
        log.info("demo: %s records served by the embedded fake API at %s", f"{volume:,}", fake.base_url)
        return build_report(
            start,
            end,
            plan_id=1,
            tz=tz,
            compare_previous=compare_previous,
            api_key=key,
            base_url=fake.base_url,
            out_dir=out_dir,
            anonymize_clients=anonymize_clients,
            now=now,
            api_options={"page_size": 20_000, "requests_per_minute": None},
            source_label=f"the embedded fake Webshare API (demo, seed {seed})",
            **kwargs,
        )
