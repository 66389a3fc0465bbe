"""A multi-plan archive: each plan is its own partition; scans read one plan, several, or all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

import wsframes as wsf
from wsframes.archive.sync import sync
from wsframes.errors import ConfigurationError
from wsframes.fake import FakeWebshare

from .conftest import NOW

KEY = "plans-key"
START, END = NOW - timedelta(days=2), NOW - timedelta(days=1)


def test_a_multi_plan_archive_scans_per_plan_and_in_total(tmp_path: Path) -> None:
    with FakeWebshare(KEY, records=3_000, now=NOW, seed=11) as fake:
        for plan in (1, 2):
            sync(tmp_path, start=START, end=END, plan_id=plan, api_key=KEY, base_url=fake.base_url,
                 requests_per_minute=None)
        live = wsf.load_activity(START, END, plan_id=[1, 2], api_key=KEY, base_url=fake.base_url,
                                 requests_per_minute=None)
    assert sorted(p.name for p in tmp_path.glob("plan_id=*")) == ["plan_id=1", "plan_id=2"]
    one = wsf.scan_activity(tmp_path, START, END, plan_id=1).collect()
    two = wsf.scan_activity(tmp_path, START, END, plan_id=2).collect()
    total = wsf.scan_activity(tmp_path, START, END, plan_id=[1, 2]).collect()
    assert one.height > 0 and two.height > 0
    assert total.height == one.height + two.height
    assert total["timestamp"].is_sorted()
    assert total.filter(pl.col("plan_id") == 2).drop("plan_id").equals(two)
    # The archive's answer for both plans is the API's answer for both plans, plan by plan.
    assert total.equals(live.select(total.columns))
    by_plan = wsf.pool_health(total, by=["plan_id", "listen_address"], min_requests=1)
    assert by_plan.group_by("plan_id").agg(pl.col("requests").sum()).sort("plan_id").rows() == [
        (1, one.height), (2, two.height)]
    with pytest.raises(ConfigurationError, match="distinct"):
        wsf.scan_activity(tmp_path, START, END, plan_id=[1, 1])


def test_a_subuser_is_its_own_partition_and_scans_back_as_loaded(tmp_path: Path) -> None:
    with FakeWebshare(KEY, records=3_000, now=NOW, seed=12, subusers=(7,)) as fake:
        cfg = wsf.Config(api_key=KEY, base_url=fake.base_url, requests_per_minute=None, subuser=7)
        sync(tmp_path, start=START, end=END, plan_id=1, config=cfg)
        live = wsf.load_activity(START, END, plan_id=1, config=cfg)
        mixed = wsf.load_activity(START, END + timedelta(hours=6), plan_id=1, config=cfg, archive=tmp_path)
    assert [p.name for p in tmp_path.glob("plan_id=*")] == ["plan_id=1-subuser7"]
    scanned = wsf.scan_activity(tmp_path, START, END, plan_id=1, subuser=7).collect()
    assert scanned.equals(live) and scanned["subuser_id"].unique().to_list() == [7]
    assert mixed["subuser_id"].unique().to_list() == [7]  # disk and API pieces alike
    assert mixed.filter(pl.col("timestamp") < END).equals(live)
    with pytest.raises(wsf.ArchiveError, match="holds nothing for plan 1"):
        wsf.scan_activity(tmp_path, START, END, plan_id=1)  # the account's view was never synced
