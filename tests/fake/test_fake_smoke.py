"""The step-1 contract other engineers code against: generator shape and a pageable server."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import requests

from wsframes.fake import FakeWebshare, generate_activity
from wsframes.schema import ACTIVITY_SCHEMA


def test_generated_frame_has_the_declared_schema_sorted_ascending() -> None:
    df = generate_activity(2000, seed=3)
    assert df.schema == ACTIVITY_SCHEMA
    assert df.height == 2000
    assert df["timestamp"].is_sorted()


def test_default_window_is_the_seven_days_before_end(now: datetime) -> None:
    df = generate_activity(500, end=now)
    assert df["timestamp"].min() >= now - timedelta(days=7)
    assert df["timestamp"].max() < now


def test_paging_by_next_returns_the_whole_truth_when_no_tie_straddles(
    fake: FakeWebshare, session: requests.Session, activity_url: str
) -> None:
    url: str | None = fake.base_url + activity_url + "?page_size=500&plan_id=2"
    got: list[dict[str, object]] = []
    while url:
        body = session.get(url, timeout=10).json()
        got.extend(body["results"])
        url = body["next"]
    truth = fake.truth(2)
    assert len(got) <= truth.height
    stamps = pl.Series([r["timestamp"] for r in got]).str.to_datetime(time_zone="UTC")
    assert stamps.is_sorted(descending=True)
