"""Fixtures of the engine tests: an archive synced from the fake API, one local SparkSession."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from wsframes.archive import scan_activity, sync
from wsframes.fake import generate_activity
from wsframes.fake.server import FakeWebshare

PLAN = 7


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real archive: 3 days of fake activity synced over HTTP into Hive-partitioned Parquet."""
    now = datetime.now(UTC)
    df = generate_activity(6_000, start=now - timedelta(days=3), end=now, seed=11, plan_id=PLAN)
    root = tmp_path_factory.mktemp("engines") / "archive"
    with FakeWebshare(plans={PLAN: df}, page_cap=2000) as server:
        sync(root, start="4d", plan_id=PLAN, api_key=server.api_key, base_url=server.base_url,
             requests_per_minute=None, progress=False)
    return root


@pytest.fixture(scope="session")
def archived(archive: Path) -> pl.DataFrame:
    """Everything the archive holds, read by wsframes itself (the reference numbers)."""
    return scan_activity(archive, plan_id=PLAN).collect()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local SparkSession for the whole test session (starting the JVM takes seconds).

    UTC session time zone (as the README's recipe says): Spark hands timestamps back in it.
    """
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("wsframes-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
