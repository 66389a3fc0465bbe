"""The activity list endpoint: envelope, order, cursor, filters, plans, auth and error shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
import requests

from wsframes.fake import FakeWebshare, generate_activity
from wsframes.fake.catalog import HOSTILE_DOMAINS

Frame = Callable[[list[dict[str, Any]]], pl.DataFrame]


def get(session: requests.Session, fake: FakeWebshare, **params: Any) -> requests.Response:
    return session.get(fake.base_url + "/api/v2/proxy/activity/", params=params, timeout=10)


def pull(session: requests.Session, url: str) -> tuple[list[dict[str, Any]], int]:
    """Follow ``next`` to the end; returns the records and the number of pages."""
    records: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        body = session.get(next_url, timeout=10).json()
        records.extend(body["results"])
        next_url = body["next"]
        pages += 1
    return records, pages


def newest_first(df: pl.DataFrame) -> pl.DataFrame:
    return df.reverse()


def test_envelope_and_first_page_are_the_newest_records(
    fake: FakeWebshare, session: requests.Session, to_frame: Frame
) -> None:
    resp = get(session, fake, page_size=40)
    body = resp.json()
    assert resp.status_code == 200
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["previous"] is None
    assert body["count"] == fake.truth().height
    assert to_frame(body["results"]).equals(newest_first(fake.truth()).head(40))


def test_page_size_defaults_to_25_and_is_silently_capped(
    fake: FakeWebshare, session: requests.Session
) -> None:
    assert len(get(session, fake).json()["results"]) == 25
    assert len(get(session, fake, page_size=10_000).json()["results"]) == fake.page_cap
    assert len(get(session, fake, page_size="lots").json()["results"]) == 25


def test_next_keeps_every_filter_and_a_percent_encoded_cursor(
    fake: FakeWebshare, session: requests.Session, now: datetime
) -> None:
    gte = (now - timedelta(days=1)).isoformat()
    body = get(session, fake, page_size=30, timestamp__gte=gte, search="a", bytes__gte=1).json()
    nxt = body["next"]
    assert nxt.startswith(fake.base_url + "/api/v2/proxy/activity/?")
    assert "%3A" in nxt and "+" not in urlsplit(nxt).query.replace("%2B", "")
    query = {k: v[0] for k, v in parse_qs(urlsplit(nxt).query).items()}
    assert query == {
        "page_size": "30", "timestamp__gte": gte, "search": "a", "bytes__gte": "1",
        "starting_after": body["results"][-1]["timestamp"],
    }


def test_starting_after_is_strictly_older_and_count_is_what_remains(
    fake: FakeWebshare, session: requests.Session, to_frame: Frame
) -> None:
    truth = newest_first(fake.truth())
    tied = truth.group_by("timestamp").len().filter(pl.col("len") >= 3)["timestamp"].max()
    assert isinstance(tied, datetime)
    # The cursor as the server renders it (account offset), at a tie group of >= 3 records.
    cursor = pull_window(session, fake, tied)[0]["timestamp"]
    body = get(session, fake, starting_after=cursor, page_size=5).json()
    older = truth.filter(pl.col("timestamp") < tied)
    assert body["count"] == older.height
    assert to_frame(body["results"]).equals(older.head(5))  # none of the group comes back


def pull_window(session: requests.Session, fake: FakeWebshare, at: datetime) -> list[Any]:
    """Records whose timestamp is exactly *at* (inclusive bounds on both sides)."""
    iso = at.isoformat()
    return get(session, fake, timestamp__gte=iso, timestamp__lte=iso, page_size=100).json()[
        "results"
    ]


def test_inclusive_bounds_return_a_whole_tie_group(
    fake: FakeWebshare, session: requests.Session
) -> None:
    groups = fake.truth().group_by("timestamp").len().filter(pl.col("len") >= 2)
    at, size = groups.row(0)
    assert len(pull_window(session, fake, at)) == size


def test_following_next_returns_each_record_except_lost_tie_remainders(
    fake: FakeWebshare, session: requests.Session, to_frame: Frame
) -> None:
    page = 37
    records, _pages = pull(session, f"{fake.base_url}/api/v2/proxy/activity/?page_size={page}")
    got = to_frame(records)
    truth = newest_first(fake.truth())
    assert got["timestamp"].is_sorted(descending=True)
    assert got.join(truth, on=list(truth.columns), how="anti", nulls_equal=True).height == 0
    # What a strict cursor must lose: at each page boundary, the unread rest of a tie group.
    expected = simulate_strict_cursor(truth["timestamp"].to_list(), page)
    assert got.height == expected
    assert got.height < truth.height  # with ~12% of rows in bursts, some group straddled


def simulate_strict_cursor(stamps: list[datetime], page: int) -> int:
    """How many records a client following a strict cursor reads (independent model)."""
    i, read = 0, 0
    while i < len(stamps):
        chunk = stamps[i : i + page]
        read += len(chunk)
        i += len(chunk)
        while i < len(stamps) and stamps[i] == chunk[-1]:
            i += 1
    return read


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({"search": "EVIL"}, pl.col("hostname").str.to_lowercase().str.contains("evil")),
        ({"error_reason": "no_proxies_allocated"},
         pl.col("error_reason") == "no_proxies_allocated"),
        ({"error_reason": "*"}, pl.col("error_reason").is_not_null()),
        ({"bytes__gte": "100000", "bytes__lte": "200000"},
         pl.col("bytes").is_between(100_000, 200_000)),
        ({"verification_category": "requests_to_financial_institutions"},
         pl.col("hostname").str.contains("bank")),
    ],
)
def test_filters_select_exactly_the_matching_records(
    fake: FakeWebshare, session: requests.Session, to_frame: Frame,
    params: dict[str, str], predicate: pl.Expr,
) -> None:
    expected = newest_first(fake.truth()).filter(predicate.fill_null(False))
    assert expected.height > 0
    first = get(session, fake, page_size=500, **params).json()
    assert first["count"] == expected.height
    records, _ = pull(session, first["next"]) if first["next"] else ([], 0)
    got = to_frame(first["results"] + records)
    assert got.height == simulate_strict_cursor(expected["timestamp"].to_list(), 500)
    assert got.join(expected, on=list(expected.columns), how="anti", nulls_equal=True).is_empty()


def test_time_bounds_are_inclusive_on_both_ends(
    fake: FakeWebshare, session: requests.Session
) -> None:
    truth = fake.truth()
    lo, hi = truth["timestamp"][100], truth["timestamp"][400]
    body = get(session, fake, timestamp__gte=lo.isoformat(), timestamp__lte=hi.isoformat()).json()
    assert body["count"] == truth.filter(pl.col("timestamp").is_between(lo, hi)).height


def test_plans_hold_different_data_and_unknown_plans_get_the_documented_shape(
    fake: FakeWebshare, session: requests.Session, to_frame: Frame
) -> None:
    default = get(session, fake, page_size=50).json()
    one = get(session, fake, page_size=50, plan_id=1).json()
    two = get(session, fake, page_size=50, plan_id=2).json()
    assert default["results"] == one["results"]
    assert "plan_id=1" in one["next"] and "plan_id" not in default["next"]
    assert two["count"] == fake.truth(2).height != one["count"]
    assert to_frame(two["results"]).equals(newest_first(fake.truth(2)).head(50))
    bad = get(session, fake, plan_id=99)
    assert bad.status_code == 400
    assert bad.json() == {"plan_id": [
        "Select a valid choice. That choice is not one of the available choices."]}


def test_wrong_or_missing_token_is_401_with_drf_body(fake: FakeWebshare) -> None:
    url = fake.base_url + "/api/v2/proxy/activity/"
    missing = requests.get(url, timeout=10)
    wrong = requests.get(url, headers={"Authorization": "Token nope"}, timeout=10)
    bearer = requests.get(url, headers={"Authorization": "Bearer fake-test-key-123"}, timeout=10)
    assert missing.status_code == wrong.status_code == bearer.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    assert wrong.json() == bearer.json() == {"detail": "Invalid token."}
    assert "fake-test-key-123" not in wrong.text + repr(fake)


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"timestamp__gte": "2026-08-01T00:00:00+00:00"}, "timestamp__gte", "min_value"),
        ({"timestamp__gte": "yesterday"}, "timestamp__gte", "invalid"),
        # An unencoded "+" becomes a space: the live API rejects such a time.
        ({"timestamp__lte": "2026-11-26T10:00:00 05:30"}, "timestamp__lte", "invalid"),
        ({"starting_after": "2026-13-01T00:00:00Z"}, "starting_after", "invalid"),
        ({"bytes__gte": "ten"}, "bytes__gte", "invalid"),
        ({"verification_category": "casinos"}, "verification_category", "invalid_choice"),
    ],
)
def test_bad_parameters_get_the_live_field_error_shape(
    fake: FakeWebshare, session: requests.Session, params: dict[str, str], field: str, code: str
) -> None:
    resp = get(session, fake, **params)
    assert resp.status_code == 400
    (entry,) = resp.json()[field]
    assert entry["code"] == code and entry["message"]
    assert resp.headers["X-Request-ID"]


def test_ninety_day_floor_has_five_minutes_of_grace(
    fake: FakeWebshare, session: requests.Session, now: datetime
) -> None:
    floor = now - timedelta(days=90)
    assert get(session, fake, timestamp__gte=(floor - timedelta(minutes=4)).isoformat()).ok
    assert get(session, fake, timestamp__gte=(floor - timedelta(minutes=6)).isoformat()).status_code == 400


def test_unknown_paths_404_and_paths_need_the_trailing_slash(
    fake: FakeWebshare, session: requests.Session
) -> None:
    for path in ("/api/v2/proxy/activity", "/api/v2/nothing/", "/"):
        resp = session.get(fake.base_url + path, timeout=10)
        assert resp.status_code == 404, path
        assert resp.json() == {"detail": "Not found."}
        assert resp.headers["X-Request-ID"]


def test_request_ids_are_unique_and_requests_are_counted(
    fake: FakeWebshare, session: requests.Session
) -> None:
    before = fake.request_count
    ids = {get(session, fake).headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3
    assert fake.request_count == before + 3
    assert fake.requests[-1].path == "/api/v2/proxy/activity/"


def test_rendering_uses_account_offsets_floats_and_json_escaping(
    session: requests.Session, now: datetime, api_key: str, to_frame: Frame
) -> None:
    # The US DST change of 2026-11-01 inside the window, with the server's clock fixed after it.
    df = generate_activity(4000, start="2026-10-31T00:00:00Z", end="2026-11-03T00:00:00Z", seed=5)
    with FakeWebshare(api_key, plans={7: df}, now=now) as fake:
        records, _ = pull(session, fake.base_url + "/api/v2/proxy/activity/?page_size=1000")
        raw = get(session, fake, page_size=1000, error_reason="*").content
    offsets = {r["timestamp"][-6:] for r in records}
    assert offsets == {"-07:00", "-08:00"}
    assert b'"port":443.0' in raw and b'"port":443,' in raw  # integral floats on some records
    hosts = {r["hostname"] for r in records}
    assert set(HOSTILE_DOMAINS.values()) <= hosts
    assert b"<script>alert(1)</script>" in raw and b'\\"quoted\\"' in raw  # JSON-escaped quotes
    assert json.loads(raw)["count"] == df["error_reason"].is_not_null().sum()
    assert to_frame(records)["timestamp"].is_in(df["timestamp"].implode()).all()


def test_plus_offsets_with_kolkata(session: requests.Session, now: datetime, api_key: str) -> None:
    df = generate_activity(300, end=now, seed=1)
    with FakeWebshare(api_key, plans={1: df}, tz="Asia/Kolkata", now=now) as fake:
        body = get(session, fake, page_size=3).json()
        assert body["results"][0]["timestamp"].endswith("+05:30")
        assert "%2B05%3A30" in body["next"]
        assert len(session.get(body["next"], timeout=10).json()["results"]) == 3


def test_late_records_appear_without_changing_how_old_ones_render(
    plan2: pl.DataFrame, session: requests.Session, api_key: str, now: datetime
) -> None:
    early, late = plan2.head(1000), plan2.tail(200)
    with FakeWebshare(api_key, plans={1: early}, now=now) as fake:
        before = get(session, fake, page_size=1000).json()
        fake.add_records(None, late)
        after = get(session, fake, page_size=1000).json()
        assert fake.truth().equals(plan2)
    assert before["count"] == 1000 and after["count"] == 1200
    assert after["results"][200:] == before["results"][:800]
