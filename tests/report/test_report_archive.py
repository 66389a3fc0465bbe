"""Reports from an archive (offline, the previous period from it too) and from Parquet directories."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import polars as pl
import pytest

from wsframes import build_report
from wsframes.archive import sync
from wsframes.archive.proxies import save_proxy_snapshot
from wsframes.errors import ConfigurationError, IncompleteDataError
from wsframes.fake import generate_activity
from wsframes.fake.server import FakeWebshare

DAYS = 4
PLAN = 7


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame, datetime]:
    """An archive of four days synced from a fake API that is gone afterwards, and the truth."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    truth = generate_activity(3_000, start=now - timedelta(days=DAYS), end=now, seed=5)
    root = tmp_path_factory.mktemp("archive") / "archive"
    with FakeWebshare(plans={PLAN: truth}, page_cap=1000) as fake:
        sync(root, start=now - timedelta(days=DAYS), end=now, plan_id=PLAN, api_key=fake.api_key,
             base_url=fake.base_url, requests_per_minute=None, progress=False, settle="0h")
    addresses = truth["proxy_address"].unique().cast(pl.String)
    save_proxy_snapshot(root, pl.DataFrame({"proxy_address": addresses}), plan_id=PLAN,
                        taken_at=now - timedelta(days=3))
    return root, truth, now


def _in(frame: pl.DataFrame, lo: datetime, hi: datetime) -> int:
    return frame.filter(pl.col("timestamp").is_between(lo, hi, closed="left")).height


def test_archive_report_is_offline_compares_and_reruns_from_the_archive(synced, tmp_path, monkeypatch):
    root, truth, now = synced
    monkeypatch.delenv("WEBSHARE_API_KEY", raising=False)  # no key, no API: the archive is enough
    lo = now - timedelta(days=2)
    out = tmp_path / "out"
    result = build_report(lo, now, archive=root, plan_id=PLAN, out_dir=out, base_url="http://127.0.0.1:9")
    assert result.summary["requests"] == _in(truth, lo, now)
    html = result.html_path.read_text()
    assert "Compared with the previous period" in html and "Not requested" not in html
    assert f"{_in(truth, lo - timedelta(days=2), lo):,}" in html  # the previous period's count
    assert not list(out.glob("*.parquet"))  # nothing copied beside the report
    cell = next(c for c in nbformat.read(result.notebook_path, as_version=4).cells
                if "injected-parameters" in c.metadata.get("tags", []))
    assert f"archive = {str(root.resolve())!r}" in cell.source and "data_path = None" in cell.source


def test_archive_window_it_does_not_cover_is_named_before_anything_runs(synced, tmp_path):
    root, _, now = synced
    with pytest.raises(IncompleteDataError, match=r"does not cover.*it covers"):
        build_report(now - timedelta(days=10), now - timedelta(days=8), archive=root, plan_id=PLAN,
                     out_dir=tmp_path)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ConfigurationError, match="not both"):
        build_report(now - timedelta(days=1), now, archive=root, data=pl.DataFrame(), out_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="--archive"):  # an archive is not plain Parquet files
        build_report(now - timedelta(days=1), now, data=root, out_dir=tmp_path)


def test_data_directory_and_glob_report_every_file(synced, tmp_path):
    _, truth, now = synced
    days = tmp_path / "days"
    for (day,), part in truth.group_by(pl.col("timestamp").dt.date()):
        (days / f"{day}").mkdir(parents=True)
        part.write_parquet(days / f"{day}" / "part.parquet")
    lo = now - timedelta(days=1)
    result = build_report(lo, now, data=days, out_dir=tmp_path / "a", compare_previous=False)
    assert result.summary["requests"] == _in(truth, lo, now)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigurationError, match="matches no Parquet file"):
        build_report(lo, now, data=empty, out_dir=tmp_path / "b")
    with pytest.raises(ConfigurationError, match="matches no Parquet file"):
        build_report(lo, now, data=tmp_path / "days" / "*.csv", out_dir=tmp_path / "b")


def test_cli_syncs_then_reports_from_the_archive(tmp_path):
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    truth = generate_activity(1_500, start=now - timedelta(days=2), end=now, seed=9)
    root, out = tmp_path / "archive", tmp_path / "out"
    with FakeWebshare(plans={PLAN: truth}, page_cap=1000) as fake:
        proc = subprocess.run(
            [sys.executable, "-m", "wsframes", "report", "--archive", str(root), "--sync",
             "--plan-id", str(PLAN), "--start", (now - timedelta(days=1)).isoformat(),
             "--end", now.isoformat(),
             "--base-url", fake.base_url, "--out", str(out)],
            env={**_env(), "WEBSHARE_API_KEY": fake.api_key}, capture_output=True, text=True, timeout=300,
        )
        activity = [r for r in fake.requests if "/activity" in r.path]
    assert proc.returncode in (0, 3), proc.stderr
    assert activity  # the sync read the API ...
    assert "report: " in proc.stdout
    html = next(out.glob("*.html")).read_text()
    assert f"{_in(truth, now - timedelta(days=1), now):,}" in html  # ... and the report its archive


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "WEBSHARE_API_KEY"}
