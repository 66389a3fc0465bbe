"""Fixtures for the analysis tests: hand-built activity frames with the real schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from wsframes.schema import ACTIVITY_SCHEMA

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday


def build_activity(n: int | None = None, **columns: Any) -> pl.DataFrame:
    """An activity frame with ACTIVITY_SCHEMA: given columns as passed, the rest plausible defaults."""
    if n is None:
        n = len(next(iter(columns.values()))) if columns else 0
    defaults: dict[str, Any] = {
        "timestamp": [T0 + timedelta(seconds=i) for i in range(n)],
        "protocol": ["http"] * n,
        "request_duration": [0.5] * n,
        "handshake_duration": [0.1] * n,
        "tunnel_duration": [0.4] * n,
        "error_reason": [None] * n,
        "error_reason_how_to_fix": [None] * n,
        "auth_username": [None] * n,
        "proxy_address": ["192.0.2.1"] * n,
        "bytes": [1000] * n,
        "client_address": ["198.51.100.7"] * n,
        "ip_address": ["203.0.113.9"] * n,
        "hostname": ["www.example.com"] * n,
        "domain": ["example.com"] * n,
        "port": [443] * n,
        "proxy_port": [40000] * n,
        "listen_address": ["192.0.2.200"] * n,
        "listen_port": [6000] * n,
    }
    unknown = set(columns) - set(defaults)
    assert not unknown, f"not activity columns: {unknown}"
    data = {name: columns.get(name, default) for name, default in defaults.items()}
    return pl.DataFrame(data, schema=ACTIVITY_SCHEMA)


@pytest.fixture(scope="session")
def activity() -> Callable[..., pl.DataFrame]:
    """The :func:`build_activity` builder (session-scoped so hypothesis tests may use it)."""
    return build_activity
