"""The demo report: an embedded fake Webshare API with a fixed seed, so no key is needed.

The data goes the whole real way: the kernel loads it over HTTP from the fake server (on
loopback) with the same loader a real report uses.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import datetime, timedelta
from typing import Any

from wsframes.report.builder import ReportResult, build_report
from wsframes.report.period import resolve_period
from wsframes.timeutil import utc_now

__all__ = ["DEMO_RECORDS", "DEMO_SEED", "build_demo_report", "demo_incidents"]

log = logging.getLogger(__name__)

#: Records per week in the demo: realistic volume that still builds in seconds.
DEMO_RECORDS = 250_000
DEMO_SEED = 20261126


#: The demo's incident: a scraper overran the plan's concurrency limit for three hours.
INCIDENT_CODE, INCIDENT_HOURS, INCIDENT_SHARE = "client_connect_high_concurrency", 3, 0.35


def demo_incidents(end: datetime) -> list[Any]:
    """The demo's planted incidents (see :mod:`wsframes.fake.incidents`), relative to *end*.

    A scraper overran the plan's concurrency limit for three hours; a popular target was down
    for five; one proxy server has been slow since the evening before the end.
    """
    from wsframes.fake import Incident
    from wsframes.fake.catalog import universe
    from wsframes.fake.proxies import POOL

    u = universe()
    day = end - timedelta(days=1)
    return [
        Incident("error_burst", day - timedelta(days=1) + timedelta(hours=14), hours=INCIDENT_HOURS,
                 code=INCIDENT_CODE, size=INCIDENT_SHARE),
        Incident("error_burst", day - timedelta(days=3) + timedelta(hours=9), hours=5, dimension="domain",
                 value=str(u.domains[2]), size=0.8),
        Incident("latency_regression", end - timedelta(hours=20), hours=20, dimension="listen_address",
                 value=POOL[7].address, size=5.0, phase="handshake"),  # a pool address (activity uses it)
    ]


def build_demo_report(
    *,
    out_dir: str | os.PathLike[str] = "reports",
    records: int | None = None,
    period: str = "last-7d",
    tz: str = "UTC",
    compare_previous: bool = True,
    anonymize_clients: bool = False,
    seed: int = DEMO_SEED,
    api_key: str | None = None,
    **kwargs: Any,
) -> ReportResult:
    """Build a report from an embedded :class:`~wsframes.fake.FakeWebshare` (plan 1).

    The fake holds *records* (default :data:`DEMO_RECORDS`) for the period and as many for the
    one before it, so the comparison has data; the data is the same for a given seed and period,
    with the incidents of :func:`demo_incidents` for the alerts to find. *api_key* is the
    key the fake accepts (random by default). Other keyword arguments go to :func:`build_report`.
    """
    from wsframes.fake import FakeWebshare, generate_activity

    now = kwargs.pop("now", None) or utc_now()
    start, end = resolve_period(period, tz=tz, now=now)
    span = end - start
    data_start = start - span
    volume = int((records or DEMO_RECORDS) * (2 if compare_previous else 1))
    history = generate_activity(
        volume,
        start=data_start if compare_previous else start,
        end=end,
        seed=seed,
        incidents=demo_incidents(end),
    )
    key = api_key or "demo-" + secrets.token_hex(12)  # a throwaway: the key path, without a real key
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
            page_size=20_000,
            requests_per_minute=None,
            source_label=f"the embedded fake Webshare API (demo, seed {seed})",
            keep_data=True,  # the fake is gone after the build: reruns read the kept file
            **kwargs,
        )
