"""Fixtures for the API client and loader tests: real fake servers on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class _Canned(BaseHTTPRequestHandler):
    """Answers requests in turn from ``server.answers``: (status, JSON payload or raw bytes)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        answers = self.server.answers  # type: ignore[attr-defined]
        status, payload = answers.pop(0) if len(answers) > 1 else answers[0]
        self.server.hits += 1  # type: ignore[attr-defined]
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-ID", "req-123")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[ThreadingHTTPServer]:
    """A minimal real HTTP server for answers the fake API does not produce (403, bad JSON...)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    server.answers = [(200, {})]  # type: ignore[attr-defined]
    server.hits = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def canned_client(server: ThreadingHTTPServer, **options: object) -> Client:
    """A fast-retrying client for the canned server."""
    host, port = server.server_address[:2]
    defaults: dict[str, object] = {"requests_per_minute": None, "backoff": 0.001, "max_backoff": 0.01,
                                   "progress": False, "max_retries": 2,
                                   "connections": 1}  # canned answers are served in request order
    return Client(api_key=KEY, base_url=f"http://{host!s}:{port}", **{**defaults, **options})  # type: ignore[arg-type]
