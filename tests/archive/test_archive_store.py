"""Storage without the network: partition pruning, exact range replacement, leftovers, encoding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from wsframes.archive import scan_activity
from wsframes.archive.integrity import file_problem
from wsframes.archive.manifest import Manifest
from wsframes.archive.scan import archive_files
from wsframes.archive.store import day_path, plan_files, read_day, remove_temp_files, replace_range
from wsframes.errors import ArchiveError
from wsframes.fake import generate_activity
from wsframes.schema import ACTIVITY_SCHEMA

T0 = datetime(2026, 9, 1, tzinfo=UTC)
SETTLE = timedelta(hours=2)


def between(df: pl.DataFrame, lo: datetime, hi: datetime) -> pl.DataFrame:
    return df.filter((pl.col("timestamp") >= lo) & (pl.col("timestamp") < hi))


def store(root, df: pl.DataFrame, lo: datetime, hi: datetime, manifest: Manifest) -> None:
    replace_range(root, "3", lo, hi, between(df, lo, hi), keep=manifest.covered("3"), manifest=manifest)
    manifest.record("3", lo, hi, fetched_at=hi + timedelta(days=1), settle=SETTLE)
    manifest.save(root)


@pytest.fixture(scope="module")
def month() -> pl.DataFrame:
    return generate_activity(30_000, start=T0, end=T0 + timedelta(days=30), seed=11, plan_id=3)


@pytest.fixture
def filled(tmp_path, month):
    manifest = Manifest()
    store(tmp_path, month, T0, T0 + timedelta(days=30), manifest)
    return tmp_path


def test_a_sub_range_scan_opens_only_its_days(filled, month):
    lo, hi = T0 + timedelta(days=12, hours=5), T0 + timedelta(days=13, hours=2)
    needed = {day_path(filled, "3", d.date()) for d in (lo, hi)}
    assert {str(p) for p in needed} == set(archive_files(filled, "3", [(lo, hi)]))
    # Break every other day file: the scan can only succeed if it never opens them.
    for path in plan_files(filled, "3"):
        if path not in needed:
            path.write_bytes(b"not parquet")
    got = scan_activity(filled, lo, hi, plan_id=3).collect()
    assert got.equals(between(month, lo, hi))
    with pytest.raises(ArchiveError, match="is damaged"):
        scan_activity(filled, plan_id=3)  # checked up front, not a Polars error at collect()


def test_scan_keeps_the_schema_and_the_half_open_window(filled, month):
    edge = month["timestamp"][1234]
    got = scan_activity(filled, T0, edge, plan_id=3).collect()
    assert got.schema == ACTIVITY_SCHEMA
    assert got["timestamp"].max() < edge
    assert got.height == month.filter(pl.col("timestamp") < edge).height
    empty = scan_activity(filled, T0 + timedelta(days=29, hours=23, minutes=59, seconds=59),
                          T0 + timedelta(days=30), plan_id=3, allow_gaps=True).collect()
    assert empty.schema == ACTIVITY_SCHEMA


def test_replacing_a_range_is_exact_and_sweeps_unrecorded_rows(tmp_path, month):
    manifest = Manifest()
    store(tmp_path, month, T0, T0 + timedelta(days=2, hours=6), manifest)
    # A killed sync wrote day 3 with rows it never recorded in the manifest.
    ghost_lo, ghost_hi = T0 + timedelta(days=2, hours=6), T0 + timedelta(days=2, hours=20)
    replace_range(tmp_path, "3", ghost_lo, ghost_hi, between(month, ghost_lo, ghost_hi),
                  keep=manifest.covered("3"), manifest=manifest)  # killed before the record
    assert scan_activity(tmp_path, plan_id=3).collect().equals(
        between(month, T0, T0 + timedelta(days=2, hours=6)))
    # The next sync resumes where the manifest ends; the ghost rows are replaced, not doubled.
    store(tmp_path, month, T0 + timedelta(days=2, hours=6), T0 + timedelta(days=2, hours=12), manifest)
    day3 = read_day(day_path(tmp_path, "3", (T0 + timedelta(days=2)).date()))
    assert day3.equals(between(month, T0 + timedelta(days=2), T0 + timedelta(days=2, hours=12)))


def test_leftover_temp_files_are_invisible_and_removed(filled, month):
    stray = day_path(filled, "3", T0.date()).with_name(".activity.parquet.99-deadbeef.tmp")
    stray.write_bytes(b"half a file")
    assert scan_activity(filled, plan_id=3).collect().height == month.height
    assert pl.scan_parquet(f"{filled}/**/*.parquet").select(pl.len()).collect().item() == month.height
    assert remove_temp_files(filled) == 1
    assert not stray.exists()


def test_storage_is_compact_and_lossless(filled, month):
    size = sum(p.stat().st_size for p in plan_files(filled, "3"))
    assert size / month.height < 40  # 1 000 rows a day; the 10M-row benchmark gets under 20
    back = scan_activity(filled, plan_id=3).collect()
    for name in ("request_duration", "handshake_duration", "tunnel_duration"):
        assert back[name].equals(month[name])  # float values bit for bit


def test_a_corrupt_manifest_is_an_archive_error(filled):
    (filled / "_wsframes_manifest.json").write_text("{not json")
    with pytest.raises(ArchiveError, match="unreadable"):
        scan_activity(filled, plan_id=3)


def cut_short(path) -> None:
    """What a full disk or an interrupted copy leaves: the first half of the file, no footer."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(("age", "says"), [(10, "wsframes sync --archive"), (200, "from a backup")])
def test_a_damaged_day_file_is_an_archive_error_naming_the_file_and_its_repair(tmp_path, age, says):
    lo = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=age)
    hi = lo + timedelta(days=3)
    frames = generate_activity(3_000, start=lo, end=hi, seed=5, plan_id=3)
    store(tmp_path, frames, lo, hi, Manifest())
    day = lo + timedelta(days=1)
    cut_short(day_path(tmp_path, "3", day.date()))
    with pytest.raises(ArchiveError) as info:
        scan_activity(tmp_path, plan_id=3)
    message = str(info.value)
    assert str(day_path(tmp_path, "3", day.date())) in message and "magic bytes" in message
    assert says in message
    if age == 10:
        nxt = day + timedelta(days=1)
        assert f"--plan-id 3 --refetch --start {day:%Y-%m-%d} --end {nxt:%Y-%m-%d}" in message
    # The days around it are still served; only a window needing the damaged day refuses.
    assert scan_activity(tmp_path, lo, day, plan_id=3).collect().equals(between(frames, lo, day))


def drop_middle(path) -> None:
    """Keep the footer (its length is in the last 8 bytes) but lose half of the data before it."""
    data = path.read_bytes()
    tail = int.from_bytes(data[-8:-4], "little") + 8
    path.write_bytes(data[: (len(data) - tail) // 2] + data[-tail:])


@pytest.mark.parametrize(
    ("damage", "problem"),
    [(lambda p: p.write_bytes(b""), "footer"), (cut_short, "magic bytes"), (drop_middle, "past the end")],
)
def test_footer_check_catches_cut_files(filled, damage, problem):
    path = day_path(filled, "3", T0.date())
    assert file_problem(path, T0.date()) is None
    damage(path)
    assert problem in (file_problem(path, T0.date()) or "")


def test_footer_check_catches_a_day_file_in_the_wrong_partition(filled):
    first, second = (day_path(filled, "3", (T0 + timedelta(days=i)).date()) for i in (0, 1))
    second.write_bytes(first.read_bytes())  # e.g. a backup restored into the wrong directory
    assert "outside its day" in (file_problem(second, (T0 + timedelta(days=1)).date()) or "")
    with pytest.raises(ArchiveError, match="outside its day"):
        scan_activity(filled, T0, T0 + timedelta(days=2), plan_id=3)
