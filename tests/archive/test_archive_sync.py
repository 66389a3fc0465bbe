"""Sync against the fake API: exactness, incremental requests, late records, retention, lock."""

from __future__ import annotations

import contextlib
import importlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from wsframes import load_activity
from wsframes.archive import load_with_archive, scan_activity, sync
from wsframes.archive.integrity import file_problem
from wsframes.archive.manifest import Manifest
from wsframes.archive.store import day_path, replace_range
from wsframes.errors import ArchiveError, ConfigurationError, IncompleteDataError
from wsframes.fake import generate_activity
from wsframes.schema import ACTIVITY_SCHEMA

PLAN = 7


def between(df: pl.DataFrame, lo: datetime, hi: datetime) -> pl.DataFrame:
    return df.filter((pl.col("timestamp") >= lo) & (pl.col("timestamp") < hi))


def test_first_sync_equals_a_direct_load(same_records, fake, archive, args):
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    start = end - timedelta(days=3, hours=5)
    result = sync(archive, start=start, end=end, **args)
    assert result.rows_fetched > 0
    direct = load_activity(start, end, plan_id=PLAN, api_key=fake.api_key, base_url=fake.base_url,
                           requests_per_minute=None)
    scanned = scan_activity(archive, start, end, plan_id=PLAN).collect()
    assert scanned.schema == ACTIVITY_SCHEMA
    assert scanned.equals(direct)
    assert same_records(scanned, between(fake.truth(PLAN), start, end))
    # The whole window is final, so a load through the archive asks the API nothing.
    before = fake.request_count
    via_archive = load_activity(start, end, plan_id=PLAN, archive=archive,
                                api_key=fake.api_key, base_url=fake.base_url)
    assert via_archive.equals(direct)
    assert fake.request_count == before


def test_second_sync_sends_at_most_two_requests(same_records, fake, archive, args):
    sync(archive, start="5d", **args)
    before = fake.request_count
    second = sync(archive, start="5d", **args)
    assert fake.request_count - before <= 2
    assert len(second.fetched) >= 1  # the unsettled tail was re-read
    assert same_records(scan_activity(archive, plan_id=PLAN).collect(), fake.truth(PLAN))


def test_late_records_in_the_unsettled_tail_are_picked_up(same_records, fake, archive, args):
    sync(archive, start="5d", **args)
    now = datetime.now(UTC)
    late = generate_activity(37, start=now - timedelta(minutes=50), end=now - timedelta(minutes=10),
                             seed=99, plan_id=PLAN)
    fake.add_records(PLAN, late)
    assert scan_activity(archive, plan_id=PLAN).collect().height == fake.truth(PLAN).height - 37
    sync(archive, start="5d", **args)
    got = scan_activity(archive, plan_id=PLAN).collect()
    assert got.height == fake.truth(PLAN).height
    assert same_records(got, fake.truth(PLAN))


def test_load_with_archive_fetches_only_the_gaps(same_records, fake, archive, args):
    now = datetime.now(UTC)
    archived = [(now - timedelta(days=3), now - timedelta(days=2)),
                (now - timedelta(days=1), now - timedelta(hours=12))]
    for a, b in archived:
        sync(archive, start=a, end=b, **args)
    seen = len(fake.requests)
    lo, hi = now - timedelta(days=3), now - timedelta(hours=6)
    got = load_with_archive(archive, lo, hi, plan_id=PLAN, api_key=fake.api_key,
                            base_url=fake.base_url)
    assert same_records(got, between(fake.truth(PLAN), lo, hi))
    asked = [r.params for r in fake.requests[seen:] if r.path.endswith("/activity/")]
    assert asked
    for params in asked:  # no request reached into an archived span
        gte = datetime.fromisoformat(params["timestamp__gte"])
        lte = datetime.fromisoformat(params["timestamp__lte"])
        assert all(lte < a or gte >= b for a, b in archived), params


def test_gaps_older_than_the_api_keeps_are_refused_before_any_request(fake, archive, args):
    with pytest.raises(ConfigurationError, match="90 days"):
        sync(archive, start="100d", **args)
    assert fake.request_count == 0


@pytest.mark.parametrize(
    ("override", "match"),
    [({"plan_id": -3}, "plan_id"), ({"settle": "soon"}, "duration"), ({"start": "yesterday"}, "start")],
)
def test_bad_input_is_refused_before_any_request(fake, archive, args, override, match):
    with pytest.raises(ConfigurationError, match=match):
        sync(archive, **{**args, **override})
    assert fake.request_count == 0


def test_archive_that_is_a_file_is_refused(tmp_path, args):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ConfigurationError, match="not a directory"):
        sync(path, **args)


def test_scan_refuses_uncovered_windows_unless_asked(same_records, fake, archive, args):
    now = datetime.now(UTC)
    sync(archive, start=now - timedelta(days=2), end=now - timedelta(days=1), **args)
    with pytest.raises(IncompleteDataError, match="does not cover"):
        scan_activity(archive, now - timedelta(days=3), now, plan_id=PLAN)
    partial = scan_activity(archive, now - timedelta(days=3), now, plan_id=PLAN, allow_gaps=True)
    assert same_records(partial.collect(), between(fake.truth(PLAN), now - timedelta(days=2),
                                                   now - timedelta(days=1)))
    with pytest.raises(ArchiveError, match="not a wsframes archive"):
        scan_activity(archive.parent / "nowhere")
    with pytest.raises(ArchiveError, match="plans it holds: 7"):
        scan_activity(archive)  # the default plan was never synced


_HOLD_LOCK = """
import sys, time, filelock
lock = filelock.FileLock(sys.argv[1]); lock.acquire()
print("locked", flush=True); time.sleep(60)
"""


def test_a_second_sync_waits_then_says_one_is_running(fake, archive, args):
    archive.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(archive / ".wsframes.lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(ArchiveError, match="another wsframes sync is writing"):
            sync(archive, start="1d", lock_timeout=0.3, **args)
        assert fake.request_count == 0
    finally:
        holder.kill()
        holder.wait()
    sync(archive, start="1d", lock_timeout=5, **args)
    assert Manifest.load(archive).covered(str(PLAN))


def test_duckdb_reads_the_archive_as_it_is(fake, archive, args):
    sync(archive, start="5d", **args)
    (archive / "plan_id=7" / ".stray.parquet.1-ab.tmp").write_bytes(b"half a file")
    rel = duckdb.sql(
        f"select plan_id, count(*) as n, count(distinct date) as days, sum(bytes) as b "
        f"from read_parquet('{Path(archive).as_posix()}/**/*.parquet', hive_partitioning=true) "
        f"group by plan_id"
    )
    ((plan, n, days, total),) = rel.fetchall()
    truth = fake.truth(PLAN)
    assert (plan, n, total) == (PLAN, truth.height, truth["bytes"].sum())
    assert days == truth["timestamp"].dt.date().n_unique()


def test_default_sync_takes_everything_the_api_still_has(same_records, fake, archive, args):
    # start="90d" lands on the API's floor; the request must not fall below it a moment later.
    result = sync(archive, **args)
    assert result.fetched[0][0] > datetime.now(UTC) - timedelta(days=90)
    assert same_records(scan_activity(archive, plan_id=PLAN).collect(), fake.truth(PLAN))


def test_a_load_through_the_archive_never_trims_the_window(fake, archive, args):
    with pytest.raises(ConfigurationError, match="90 days"):
        load_with_archive(archive, datetime.now(UTC) - timedelta(days=90, seconds=30),
                          plan_id=PLAN, api_key=fake.api_key, base_url=fake.base_url)
    assert fake.request_count == 0


def test_the_window_is_resolved_after_waiting_for_the_lock(same_records, fake, archive, args,
                                                           monkeypatch):
    # Model a sync that waited 10 minutes for another one: until it holds the lock, its clock
    # reads 10 minutes ago. A "90d" start resolved then would be below the API's floor by the
    # time the requests go out, and the client would refuse it.
    sync_module = importlib.import_module("wsframes.archive.sync")  # the package re-exports sync()
    waited = {"lag": timedelta(minutes=10)}
    real_lock = sync_module.archive_lock

    @contextlib.contextmanager
    def slow_lock(root, *, timeout):
        with real_lock(root, timeout=timeout):
            waited["lag"] = timedelta(0)
            yield

    monkeypatch.setattr(sync_module, "utc_now", lambda: datetime.now(UTC) - waited["lag"])
    monkeypatch.setattr(sync_module, "archive_lock", slow_lock)
    result = sync(archive, start="90d", **args)
    assert result.fetched[0][0] > datetime.now(UTC) - timedelta(days=90)
    assert same_records(scan_activity(archive, plan_id=PLAN).collect(), fake.truth(PLAN))


def test_an_archive_holds_the_default_plan_or_plans_by_id_never_both(fake, archive, args):
    # Plan 7 is the fake account's default plan: stored under both names, DuckDB's
    # `**/*.parquet` would count each of its records twice.
    now = datetime.now(UTC)
    lo, hi = now - timedelta(days=2), now - timedelta(days=1)
    by_id, by_default = archive / "by-id", archive / "by-default"
    sync(by_id, start=lo, end=hi, **args)
    sync(by_default, start=lo, end=hi, **{**args, "plan_id": None})
    before = fake.request_count
    with pytest.raises(ConfigurationError, match="Pass its plan id"):
        sync(by_id, start=lo, end=hi, **{**args, "plan_id": None})
    with pytest.raises(ConfigurationError, match="holds the account's default plan"):
        sync(by_default, start=lo, end=hi, **args)
    assert fake.request_count == before
    expected = between(fake.truth(PLAN), lo, hi).height
    for root in (by_id, by_default):
        ((total,),) = duckdb.sql(f"select count(*) from read_parquet('{root.as_posix()}/**/*.parquet', "
                                 f"hive_partitioning=true)").fetchall()
        assert total == expected


def cut_short(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_plain_sync_repairs_a_damaged_day_in_its_window(same_records, fake, archive, args):
    sync(archive, start="3d", **args)
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    cut_short(day_path(archive, str(PLAN), day))
    result = sync(archive, start="3d", **args)  # the day is final: only the damage brings it back
    assert result.repaired == [day] and "repaired damaged day" in str(result)
    assert file_problem(day_path(archive, str(PLAN), day)) is None
    lo = Manifest.load(archive).covered(str(PLAN))[0][0]
    assert same_records(scan_activity(archive, plan_id=PLAN).collect(),
                        fake.truth(PLAN).filter(pl.col("timestamp") >= lo))


def test_a_damaged_day_the_api_no_longer_serves_stops_sync_before_any_request(fake, archive, args):
    now = datetime.now(UTC)
    day = (now - timedelta(days=90)).date()  # its midnight lies below the floor: not refetchable
    lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
    frame = generate_activity(50, start=lo, end=lo + timedelta(days=1), seed=4, plan_id=PLAN)
    archive.mkdir()
    manifest = Manifest()
    replace_range(archive, str(PLAN), lo, lo + timedelta(days=1), frame, keep=[], manifest=manifest)
    manifest.record(str(PLAN), lo, lo + timedelta(days=1), fetched_at=now, settle=timedelta(hours=2))
    manifest.save(archive)
    cut_short(day_path(archive, str(PLAN), day))
    with pytest.raises(ArchiveError, match=r"restore the file\(s\) from a backup"):
        sync(archive, start="90d", **args)
    assert fake.request_count == 0
