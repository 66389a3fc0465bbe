"""Fixtures starting real fake-Webshare servers on loopback, with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
import requests

from wsframes.fake import FakeWebshare, generate_activity

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
KEY = "fake-test-key-123"
ACTIVITY = "/api/v2/proxy/activity/"


@pytest.fixture(scope="session")
def now() -> datetime:
    """The fixed 'now' of every fake server in these tests."""
    return NOW


@pytest.fixture(scope="session")
def api_key() -> str:
    return KEY


@pytest.fixture(scope="session")
def activity_url() -> str:
    """Path of the activity list (join to ``fake.base_url``)."""
    return ACTIVITY


@pytest.fixture(scope="session")
def plan1() -> pl.DataFrame:
    return generate_activity(3000, start=NOW - timedelta(days=3), end=NOW, seed=11, plan_id=1)


@pytest.fixture(scope="session")
def plan2() -> pl.DataFrame:
    return generate_activity(1200, start=NOW - timedelta(days=2), end=NOW, seed=11, plan_id=2)


@pytest.fixture(scope="module")
def fake(plan1: pl.DataFrame, plan2: pl.DataFrame) -> Iterator[FakeWebshare]:
    with FakeWebshare(KEY, plans={1: plan1, 2: plan2}, page_cap=500, now=NOW) as server:
        yield server


@pytest.fixture()
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.headers["Authorization"] = f"Token {KEY}"
        yield s


def records_to_frame(records: list[dict[str, object]]) -> pl.DataFrame:
    """Parse API JSON records into ACTIVITY_SCHEMA, independently of the wsframes loader."""
    from wsframes.schema import ACTIVITY_SCHEMA

    raw = pl.DataFrame(records, schema={k: pl.String if k == "timestamp" else pl.Float64
                                        if k.endswith("duration") or k in
                                        ("bytes", "port", "proxy_port", "listen_port")
                                        else pl.String for k in ACTIVITY_SCHEMA},
                       strict=False)
    return raw.with_columns(
        pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC")
    ).cast(ACTIVITY_SCHEMA)


@pytest.fixture(scope="session")
def to_frame() -> object:
    """:func:`records_to_frame`, as a fixture (test modules cannot import conftest)."""
    return records_to_frame
