"""Fixtures for the API client and loader tests: real fake servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from wsframes.fake import FakeWebshare, generate_activity
from wsframes.loader import Client

KEY = "sk-test-7f3a9c1e5b2d4f6a8c0e"  # distinctive, so a leak is easy to spot


def hours_ago(h: float) -> datetime:
    """An instant *h* hours before now, truncated to the second (UTC)."""
    return (datetime.now(UTC) - timedelta(hours=h)).replace(microsecond=0)


def in_window(truth: pl.DataFrame, lo: datetime, hi: datetime) -> pl.DataFrame:
    """The ground truth restricted to the half-open window [lo, hi)."""
    return truth.filter((pl.col("timestamp") >= lo) & (pl.col("timestamp") < hi))


def canonical(df: pl.DataFrame) -> pl.DataFrame:
    """Rows in a canonical order, for multiset comparison where tie order may differ."""
    return df.sort(pl.all().cast(pl.String), nulls_last=True)


def make_client(fake: FakeWebshare, **options: object) -> Client:
    """A client for *fake*: unpaced and with near-zero backoff so retry tests stay fast."""
    defaults: dict[str, object] = {"requests_per_minute": None, "backoff": 0.001, "max_backoff": 0.01,
                                   "max_retry_after": 0.01, "progress": False}
    return Client(api_key=fake.api_key, base_url=fake.base_url, **{**defaults, **options})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def window() -> tuple[datetime, datetime]:
    """A two-day window well inside the 90-day retention."""
    return hours_ago(72), hours_ago(24)


@pytest.fixture(scope="module")
def fake(window: tuple[datetime, datetime]) -> Iterator[FakeWebshare]:
    """Two plans of realistic traffic (bursts of equal timestamps included), page cap 1000."""
    lo, hi = window
    plans = {pid: generate_activity(6_000, start=lo, end=hi, seed=11, plan_id=pid) for pid in (1, 2)}
    with FakeWebshare(KEY, plans=plans) as server:
        yield server
