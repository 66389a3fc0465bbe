"""The Alerts section: incidents as sentences with drill-downs, quiet when healthy, gaps placed right."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from wsframes.analysis.pool import ENRICH_COLUMNS, enrich
from wsframes.fake import Incident, generate_activity
from wsframes.fake.catalog import HOSTILE_DOMAINS, universe
from wsframes.fake.incidents import plant
from wsframes.fake.proxies import proxy_frame
from wsframes.report.data import ReportData, coverage
from wsframes.report.findings import Alert, alerts_html, find_alerts
from wsframes.report.gaps import interior_gaps
from wsframes.report.pool_section import PoolInputs

WEEK = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
END = WEEK + timedelta(days=7)


def _alerts(frame: pl.DataFrame, previous: pl.DataFrame | None = None, tz: str = "UTC") -> list[Alert]:
    cov = coverage(frame, WEEK, END, exact=True, now=END + timedelta(hours=1))
    return find_alerts(ReportData(frame, previous, WEEK, END, None, cov, "test"), tz=tz)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_healthy_week_has_a_quiet_alerts_section(seed: int) -> None:
    """Only what is true: the fake's one unknown code, nothing else."""
    df = generate_activity(20_000, start=WEEK, end=END, seed=seed)
    alerts = _alerts(df)
    assert [a.title for a in alerts] == ["Unknown error codes"]
    assert alerts[0].severity == "warning"


def test_quiet_html_says_so() -> None:
    assert "No alerts" in alerts_html([], pl.DataFrame())


def test_sixty_hour_hole_is_placed_within_an_hour() -> None:
    """Issue 8: the gap's own hours were in its baseline, shaving 12 hours off both ends."""
    df = generate_activity(40_000, start=WEEK, end=END, seed=3)
    lo = WEEK + timedelta(days=2, hours=6)
    hole = df.filter(~pl.col("timestamp").is_between(lo, lo + timedelta(hours=60), closed="left"))
    (gap,) = interior_gaps(hole, WEEK, END, tz="UTC")
    assert abs(gap.start - lo) <= timedelta(hours=1)
    assert abs(gap.end - (lo + timedelta(hours=60))) <= timedelta(hours=1)


def test_error_burst_sentence_and_drilldown() -> None:
    domain = str(universe().domains[2])  # a popular target
    at = WEEK + timedelta(days=4, hours=13)
    burst = Incident("error_burst", at, hours=4, dimension="domain", value=domain, size=0.9)
    df = generate_activity(60_000, start=WEEK, end=END, seed=5, incidents=[burst])
    alerts = [a for a in _alerts(df, tz="Europe/Berlin") if a.incident is not None]
    assert len(alerts) == 1, alerts
    (alert,) = alerts
    assert alert.title == "Error burst" and f"to {domain} failed" in alert.detail
    assert "from 2026-11-06 14:00 CET to 2026-11-06 18:00 CET" in alert.detail  # local time in --tz
    assert "(usual: " in alert.detail and "target website" in alert.detail  # how big, what to do
    assert alert.severity == "critical"
    page = alerts_html(alerts, df, tz="Europe/Berlin")
    png = page.split("base64,")[1].split("'")[0]
    assert base64.b64decode(png).startswith(b"\x89PNG")


def test_alert_text_is_escaped() -> None:
    hostile = Alert(
        "warning", "Slower requests", f"Requests to {next(iter(HOSTILE_DOMAINS.values()))} slowed down"
    )
    page = alerts_html([hostile], pl.DataFrame())
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_with_the_proxy_list_a_network_incident_is_named_by_its_network() -> None:
    """Issue 18: a slow ASN spans two /24s (and two countries); only the list says it is one network."""
    at = WEEK + timedelta(days=3, hours=8)
    slow = Incident("latency_regression", at, hours=10, dimension="proxy_asn", value="64501",
                    phase="handshake")
    df = plant(enrich(generate_activity(80_000, start=WEEK, end=END, seed=8), proxy_frame()), [slow], seed=1)
    df = df.drop(ENRICH_COLUMNS)  # the report's frame: activity as loaded
    cov = coverage(df, WEEK, END, exact=True, now=END + timedelta(hours=1))
    pool = PoolInputs(proxy_frame(), None)
    alerts = [a for a in find_alerts(ReportData(df, None, WEEK, END, None, cov, "test"), pool=pool)
              if a.incident is not None]
    assert [a.incident["dimension"] for a in alerts] == ["proxy_asn"], alerts
    assert "through the proxies of network AS64501" in alerts[0].detail and "handshake" in alerts[0].detail
    assert "base64," in alerts_html(alerts, pool.enrich(df.lazy()))  # the drill-down reads the network
    without = find_alerts(ReportData(df, None, WEEK, END, None, cov, "test"))
    assert "proxy_asn" not in {a.incident["dimension"] for a in without if a.incident is not None}
