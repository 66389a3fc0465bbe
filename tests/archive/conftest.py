"""Fixtures of the archive tests: a fake Webshare API with recent activity, an empty archive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from wsframes.fake import generate_activity
from wsframes.fake.server import FakeWebshare

PLAN = 7
DAYS = 4


@pytest.fixture(scope="module")
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def fake(now: datetime) -> Iterator[FakeWebshare]:
    # Activity up to the real clock: the client checks the 90-day floor against it.
    df = generate_activity(4_000, start=now - timedelta(days=DAYS), end=now, seed=3, plan_id=PLAN)
    with FakeWebshare(plans={PLAN: df}, page_cap=1000) as server:
        yield server


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tmp_path / "archive"


@pytest.fixture
def args(fake: FakeWebshare) -> dict[str, object]:
    """Keyword arguments pointing sync at the fake (no client-side pacing on loopback)."""
    return {"plan_id": PLAN, "api_key": fake.api_key, "base_url": fake.base_url,
            "requests_per_minute": None, "progress": False}


@pytest.fixture
def same_records():
    """Compare with the fake's truth: ascending by time, the same records each exactly once.

    Records sharing a timestamp may come back in any order (the API defines none), so both sides
    are put in one canonical order first.
    """
    def check(got: pl.DataFrame, expected: pl.DataFrame) -> bool:
        canon = pl.all().sort_by(pl.all())
        return (got["timestamp"].is_sorted() and got.schema == expected.schema
                and got.select(canon).equals(expected.select(canon)))
    return check


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto's server mode) on loopback, for the whole session."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_archive(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
               request: pytest.FixtureRequest) -> str:
    """A fresh bucket; the usual AWS_* settings point at the server (children inherit them)."""
    import boto3

    for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing-secret", "AWS_REGION": "us-east-1",
                        "WSFRAMES_S3_CACHE": str(tmp_path / "s3-cache")}.items():
        monkeypatch.setenv(name, value)
    bucket = f"ws-{abs(hash(request.node.nodeid)) % 10**12}-{datetime.now(UTC):%H%M%S%f}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/team/archive"
