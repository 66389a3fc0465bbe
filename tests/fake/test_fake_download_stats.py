"""The download token, the bulk CSV and the stats endpoints, checked against the truth."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import requests

from wsframes.fake import FakeWebshare
from wsframes.fake.render import render_timestamps

TOKEN = "/api/v2/download_token/activity/"
DOWNLOAD = "/api/v2/proxy/activity/download/"


def token(session: requests.Session, fake: FakeWebshare) -> dict[str, Any]:
    resp = session.get(fake.base_url + TOKEN, timeout=10)
    assert resp.status_code == 200
    return dict(resp.json())


def download(fake: FakeWebshare, key: str, **params: Any) -> requests.Response:
    # No Authorization header: the token in the query is the credential.
    return requests.get(fake.base_url + DOWNLOAD, params={"download_token": key, **params},
                        timeout=10)


def test_token_needs_auth_has_the_documented_fields_and_rotates(
    fake: FakeWebshare, session: requests.Session
) -> None:
    assert requests.get(fake.base_url + TOKEN, timeout=10).status_code == 401
    first = token(session, fake)
    assert set(first) == {"id", "key", "scope", "expire_at"} and first["scope"] == "activity"
    assert token(session, fake) == first
    assert session.get(fake.base_url + TOKEN + "reset/", timeout=10).status_code == 405
    reset = session.post(fake.base_url + TOKEN + "reset/", timeout=10).json()
    assert reset["key"] != first["key"] and token(session, fake) == reset
    assert download(fake, first["key"]).status_code == 401  # the old key no longer works
    assert download(fake, reset["key"]).status_code == 200
    assert reset["key"] not in repr(fake) and all(
        "download_token" not in r.params for r in fake.requests
    )


def test_csv_has_the_api_columns_space_times_none_and_newest_first(
    fake: FakeWebshare, session: requests.Session
) -> None:
    resp = download(fake, token(session, fake)["key"], plan_id=2)
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0] == ["Time", "Hostname", "Destination Port", "Bytes", "Duration", "Proxy",
                       "Your IP Address", "Error Reason", "Protocol"]
    truth = fake.truth(2).reverse()
    assert len(rows) - 1 == truth.height
    times = render_timestamps(truth["timestamp"], fake.tz, sep=" ").to_list()
    assert [r[0] for r in rows[1:]] == times
    assert " " in rows[1][0] and "T" not in rows[1][0]
    success = truth["error_reason"].is_null().to_list()
    assert all((r[7] == "None") == ok for r, ok in zip(rows[1:], success, strict=True))
    assert [int(r[3]) for r in rows[1:]] == truth["bytes"].to_list()
    assert [r[1] for r in rows[1:]] == truth["hostname"].fill_null("None").to_list()


def test_csv_honours_filters(fake: FakeWebshare, session: requests.Session) -> None:
    rows = list(csv.reader(io.StringIO(
        download(fake, token(session, fake)["key"], error_reason="bandwidthlimit").text)))
    expected = fake.truth().filter(pl.col("error_reason") == "bandwidthlimit").height
    assert expected > 0 and len(rows) - 1 == expected
    assert {r[7] for r in rows[1:]} == {"bandwidthlimit"}


def hourly(session: requests.Session, fake: FakeWebshare, **params: Any) -> list[dict[str, Any]]:
    resp = session.get(fake.base_url + "/api/v2/stats/", params=params, timeout=10)
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def test_hourly_requests_total_equals_activity_count_hour_by_hour(
    fake: FakeWebshare, session: requests.Session, now: datetime
) -> None:
    hours = hourly(session, fake, timestamp__gte=(now - timedelta(days=4)).isoformat(),
                   timestamp__lte=now.isoformat())
    assert all(not h["is_projected"] for h in hours)
    assert sum(h["requests_total"] for h in hours) == fake.truth().height
    for h in hours[::7]:  # every 7th hour, asked of the activity endpoint itself
        start = datetime.fromisoformat(h["timestamp"])
        end = start + timedelta(hours=1) - timedelta(microseconds=1)
        count = session.get(fake.base_url + "/api/v2/proxy/activity/", params={
            "timestamp__gte": start.isoformat(), "timestamp__lte": end.isoformat(),
            "page_size": 1}, timeout=10).json()["count"]
        assert h["requests_total"] == count == h["requests_successful"] + h["requests_failed"]
        assert sum(h["protocols_used"].values()) == count
        assert sum(e["count"] for e in h["error_reasons"]) == h["requests_failed"]


def test_hourly_omits_empty_hours_and_projects_future_ones(
    fake: FakeWebshare, session: requests.Session, now: datetime
) -> None:
    hours = hourly(session, fake, timestamp__gte=(now - timedelta(days=10)).isoformat(),
                   timestamp__lte=(now + timedelta(hours=3)).isoformat())
    real = [h for h in hours if not h["is_projected"]]
    projected = [h for h in hours if h["is_projected"]]
    assert all(h["requests_total"] > 0 for h in real)
    assert len(projected) == 3
    assert all(p["error_reasons"] == [] and p["countries_used"] == {} for p in projected)
    stamps = [datetime.fromisoformat(h["timestamp"]) for h in hours]
    assert stamps == sorted(stamps) and stamps[-1] > now
    assert set(hours[0]) == {
        "timestamp", "is_projected", "bandwidth_total", "bandwidth_average", "requests_total",
        "requests_successful", "requests_failed", "error_reasons", "countries_used",
        "number_of_proxies_used", "protocols_used", "average_concurrency", "average_rps",
        "last_request_sent_at"}
    entry = next(e for h in real for e in h["error_reasons"])
    assert set(entry) == {"reason", "type", "how_to_fix", "http_status", "count"}


def test_stats_share_the_90_day_floor(
    fake: FakeWebshare, session: requests.Session, now: datetime
) -> None:
    resp = session.get(fake.base_url + "/api/v2/stats/", timeout=10, params={
        "timestamp__gte": (now - timedelta(days=91)).isoformat()})
    assert resp.status_code == 400 and "timestamp__gte" in resp.json()


def test_aggregate_is_the_sum_of_the_hours(
    fake: FakeWebshare, session: requests.Session, now: datetime
) -> None:
    window = {"timestamp__gte": (now - timedelta(days=2)).isoformat(),
              "timestamp__lte": now.isoformat(), "plan_id": 2}
    hours = hourly(session, fake, **window)
    agg = session.get(fake.base_url + "/api/v2/stats/aggregate/", params=window,
                      timeout=10).json()
    for field in ("requests_total", "requests_failed", "bandwidth_total"):
        assert agg[field] == sum(h[field] for h in hours)
    assert agg["requests_total"] == fake.truth(2).height
    assert agg["bandwidth_projected"] == agg["bandwidth_total"]  # window ends now
    assert "timestamp" not in agg


def test_an_empty_plan_has_empty_stats_and_an_empty_csv(
    session: requests.Session, api_key: str, now: datetime
) -> None:
    from wsframes.schema import empty_activity

    with FakeWebshare(api_key, plans={1: empty_activity()}, now=now) as fake:
        assert hourly(session, fake) == []
        agg = session.get(fake.base_url + "/api/v2/stats/aggregate/", timeout=10).json()
        rows = download(fake, token(session, fake)["key"]).text.splitlines()
        page = session.get(fake.base_url + "/api/v2/proxy/activity/", timeout=10).json()
    assert agg["requests_total"] == 0 and agg["last_request_sent_at"] is None
    assert len(rows) == 1
    assert page == {"count": 0, "next": None, "previous": None, "results": []}
