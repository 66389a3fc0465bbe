"""Fixtures of the proxy-pool tests: one fake API (real HTTP on loopback) and what it serves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import polars as pl
import pytest

from wsframes.fake import FakeWebshare
from wsframes.pool import load_proxies, load_replaced_proxies

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWebshare]:
    with FakeWebshare("pool-key", records=20_000, now=NOW, seed=3) as server:
        yield server


@pytest.fixture(scope="module")
def proxies(fake: FakeWebshare) -> pl.DataFrame:
    return load_proxies(api_key="pool-key", base_url=fake.base_url, requests_per_minute=None)


@pytest.fixture(scope="module")
def replaced(fake: FakeWebshare) -> pl.DataFrame:
    return load_replaced_proxies(api_key="pool-key", base_url=fake.base_url, requests_per_minute=None)
