"""The README's archive examples run as written, against the fake API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from wsframes.errors import IncompleteDataError
from wsframes.fake import generate_activity
from wsframes.fake.server import FakeWebshare

README = Path(__file__).resolve().parents[2] / "README.md"


def archive_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Keep history beyond 90 days")
    return text[start:text.index("\n## ", start + 1)]


def test_the_archive_section_python_runs_as_written(tmp_path, monkeypatch):
    code = re.findall(r"```python\n(.*?)```", archive_section(), flags=re.S)[0]  # [1]: the S3 one
    now = datetime.now(UTC)
    # The README syncs without a plan id: the fake's first plan is the account's default.
    df = generate_activity(3_000, start=now - timedelta(days=20), end=now, seed=9, plan_id=1)
    with FakeWebshare(plans={1: df}, page_cap=1000) as fake:
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("WEBSHARE_API_KEY", fake.api_key)
        monkeypatch.setenv("WEBSHARE_BASE_URL", fake.base_url)
        scope: dict[str, object] = {}
        exec(compile(code, str(README), "exec"), scope)
        truth = fake.truth(None)
    ts = pl.col("timestamp")
    got = scope["everything"]
    assert isinstance(got, pl.DataFrame) and got.height > 0
    assert got.height == truth.filter(ts >= got["timestamp"].min()).height
    assert scope["df"].height == truth.filter(ts >= now - timedelta(days=14)).height  # type: ignore[attr-defined]
    # The window the README warns about is refused with the covered range, not silently empty.
    import wsframes as wsf

    with pytest.raises(IncompleteDataError, match="it covers"):
        wsf.scan_activity(tmp_path / "ws-archive", "2026-06-01", "2026-07-01")
