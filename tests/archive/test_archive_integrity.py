"""Integrity: any flipped bit in any region of a day file is caught, named, never read, repaired."""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from wsframes.archive import archive_status, integrity, scan_activity, sync
from wsframes.archive.manifest import MANIFEST_NAME, Manifest
from wsframes.archive.store import day_path, is_engine_error, plan_files, replace_range
from wsframes.cli import main
from wsframes.errors import DamagedFileError
from wsframes.fake import generate_activity

from .conftest import PLAN

T0 = datetime(2026, 9, 1, tzinfo=UTC)
DAYS = 3


def regions(path: Path) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges of a Parquet file by kind: dictionary pages, data pages, footer."""
    meta = pq.read_metadata(path)
    size = path.stat().st_size
    out: dict[str, list[tuple[int, int]]] = {"dictionary": [], "data": [], "footer": []}
    for g in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            chunk = meta.row_group(g).column(c)
            end = (chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset)
            end += chunk.total_compressed_size
            if chunk.has_dictionary_page:
                out["dictionary"].append((chunk.dictionary_page_offset, chunk.data_page_offset))
            out["data"].append((chunk.data_page_offset, end))
    footer_len = int.from_bytes(path.read_bytes()[-8:-4], "little")
    out["footer"].append((size - 8 - footer_len, size))
    return out


def flip_bit(path: Path, offset: int, bit: int) -> bytes:
    """Flip one bit in place; returns the original bytes."""
    data = path.read_bytes()
    damaged = bytearray(data)
    damaged[offset] ^= 1 << bit
    path.write_bytes(bytes(damaged))
    return data


def store_days(root: Path, frame: pl.DataFrame, lo: datetime, days: int, plan: str = "3") -> None:
    manifest = Manifest()
    hi = lo + timedelta(days=days)
    replace_range(root, plan, lo, hi, frame, keep=[], manifest=manifest)
    manifest.record(plan, lo, hi, fetched_at=hi + timedelta(days=1), settle=timedelta(hours=2))
    manifest.save(root)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, pl.DataFrame]:
    root = tmp_path_factory.mktemp("integrity")
    frame = generate_activity(1_500, start=T0, end=T0 + timedelta(days=DAYS), seed=8, plan_id=3)
    store_days(root, frame, T0, DAYS)
    return root, frame


def test_every_flipped_bit_in_every_region_is_flagged_and_never_read(small):
    root, frame = small
    rng = random.Random(14)
    files = plan_files(root, "3")
    seen = {"dictionary": 0, "data": 0, "footer": 0}
    for trial in range(48):
        path = rng.choice(files)
        kind = ("dictionary", "data", "footer")[trial % 3]
        a, b = rng.choice(regions(path)[kind])
        original = flip_bit(path, rng.randrange(a, b), rng.randrange(8))
        day = date.fromisoformat(path.parent.name.removeprefix("date="))
        try:
            (plan,) = archive_status(root).plans
            assert [d.day for d in plan.damaged] == [day], (trial, kind)
            assert any(str(path) in w for w in plan.warnings)
            with pytest.raises(DamagedFileError) as info:
                scan_activity(root, plan_id=3).collect()
            assert str(path) in str(info.value) and info.value.paths == [str(path)]
            # The other days are still served; only a window needing the damaged day refuses.
            other = T0 if day != T0.date() else T0 + timedelta(days=1)
            assert scan_activity(root, other, other + timedelta(days=1), plan_id=3).collect().height > 0
            seen[kind] += 1
        finally:
            path.write_bytes(original)
    assert seen == {"dictionary": 16, "data": 16, "footer": 16}
    assert scan_activity(root, plan_id=3).collect().equals(frame)


def test_status_groups_consecutive_damaged_days_into_one_command_each(tmp_path):
    lo = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=20)
    frame = generate_activity(2_000, start=lo, end=lo + timedelta(days=8), seed=2, plan_id=3)
    store_days(tmp_path, frame, lo, 8)
    for i in (1, 2, 3, 6):  # two runs: days 1-3 and day 6
        path = day_path(tmp_path, "3", (lo + timedelta(days=i)).date())
        flip_bit(path, path.stat().st_size // 2, 3)
    (plan,) = archive_status(tmp_path).plans
    commands = [w for w in plan.warnings if "wsframes sync" in w]
    d = [(lo + timedelta(days=i)).date() for i in range(8)]
    assert commands == [
        f"repair {d[1]} .. {d[3]} from the API: wsframes sync --archive {tmp_path} --plan-id 3 "
        f"--refetch --start {d[1]} --end {d[4]}",
        f"repair {d[6]} from the API: wsframes sync --archive {tmp_path} --plan-id 3 --refetch "
        f"--start {d[6]} --end {d[7]}",
    ]


def damage_every_region(archive: Path) -> list[date]:
    """One flipped bit per day file, cycling through dictionary, data and footer regions."""
    days = []
    for i, path in enumerate(plan_files(archive, str(PLAN))):
        kind = ("data", "dictionary", "footer")[i % 3]
        a, b = regions(path)[kind][0]
        flip_bit(path, (a + b) // 2, 5)
        days.append(date.fromisoformat(path.parent.name.removeprefix("date=")))
    return days


@pytest.mark.parametrize("refetch", [False, True])
def test_sync_replaces_damaged_days_with_the_exact_records(same_records, fake, archive, args, refetch):
    sync(archive, start="3d", **args)
    damaged = damage_every_region(archive)
    assert len(damaged) >= 3
    result = sync(archive, start="3d", refetch=refetch, **args)
    assert set(damaged) <= set(result.repaired)
    (plan,) = archive_status(archive).plans
    assert plan.damaged == [] and plan.warnings == []
    manifest = Manifest.load(archive)
    assert set(manifest.files[str(PLAN)]) == {p.parent.name[5:] for p in plan_files(archive, str(PLAN))}
    lo = manifest.covered(str(PLAN))[0][0]
    assert same_records(scan_activity(archive, plan_id=PLAN).collect(),
                        fake.truth(PLAN).filter(pl.col("timestamp") >= lo))


def zstd_garbage(path: Path) -> None:
    """Overwrite the middle of the largest data page with junk; the footer stays intact."""
    a, b = max(regions(path)["data"], key=lambda r: r[1] - r[0])
    data = bytearray(path.read_bytes())
    data[(a + b) // 2:(a + b) // 2 + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))


def test_data_page_damage_is_named_without_traceback_and_refetch_replaces_it(
    same_records, fake, archive, args, monkeypatch, capsys
):
    sync(archive, start="3d", **args)
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    path = day_path(archive, str(PLAN), day)
    zstd_garbage(path)
    assert pq.read_metadata(path).num_rows > 0  # the footer is intact
    monkeypatch.delenv("WEBSHARE_API_KEY", raising=False)
    assert main(["status", "--archive", str(archive), "--offline"]) == 1
    out, err = capsys.readouterr()
    assert str(path) in out and "Traceback" not in out + err
    assert out.startswith(f"ATTENTION: plan {PLAN}: 1 damaged day file(s)")  # cron's first line
    assert out.count("wsframes sync --archive") == 1
    command = out.split("from the API: wsframes ")[1].splitlines()[0].split()
    monkeypatch.setenv("WEBSHARE_API_KEY", fake.api_key)
    assert main([*command, "--base-url", fake.base_url, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "repaired damaged day" in out and out.startswith(f"ATTENTION: plan {PLAN}: 1 damaged day")
    lo = Manifest.load(archive).covered(str(PLAN))[0][0]
    assert same_records(scan_activity(archive, plan_id=PLAN).collect(),
                        fake.truth(PLAN).filter(pl.col("timestamp") >= lo))


def test_a_sync_killed_between_pending_sum_and_rename_leaves_no_false_alarm(small, tmp_path, monkeypatch):
    root, frame = small
    lo = T0 + timedelta(days=1)
    manifest = Manifest.load(root)

    real_replace = __import__("os").replace

    def killed(src: object, dst: object) -> None:
        if str(dst).endswith(MANIFEST_NAME):
            real_replace(src, dst)  # the pending sum reaches the disk ...
        else:
            raise KeyboardInterrupt  # ... then the sync dies before renaming the day file

    monkeypatch.setattr("wsframes._atomic.os.replace", killed)
    ts = pl.col("timestamp")
    fewer = frame.filter((ts >= lo) & (ts < lo + timedelta(hours=1))).head(-1)
    with pytest.raises(KeyboardInterrupt):
        replace_range(root, "3", lo, lo + timedelta(hours=1), fewer, keep=manifest.covered("3"),
                      manifest=manifest)
    monkeypatch.undo()
    assert "pending" in (root / MANIFEST_NAME).read_text()
    assert archive_status(root).plans[0].damaged == []
    assert scan_activity(root, plan_id=3).collect().equals(frame)


def test_export_verify_and_an_incremental_re_export_that_heals_the_copy(small, tmp_path, capsys):
    root, frame = small
    copy = tmp_path / "backup"
    assert main(["archive", "export", str(copy), "--archive", str(root)]) == 0
    assert f"{DAYS} day file(s) copied" in capsys.readouterr().out
    assert main(["archive", "verify", str(copy)]) == 0
    assert scan_activity(copy, plan_id=3).collect().equals(frame)
    victim = plan_files(copy, "3")[1]
    flip_bit(victim, 100, 0)
    assert main(["archive", "verify", str(copy)]) == 1
    assert str(victim) in capsys.readouterr().out
    assert main(["archive", "export", str(copy), "--archive", str(root)]) == 0
    assert f"1 day file(s) copied ({victim.stat().st_size / 1e6:.2f} MB), {DAYS - 1} unchanged" in (
        capsys.readouterr().out)
    assert main(["archive", "verify", str(copy)]) == 0


def test_a_damaged_day_beyond_the_api_can_be_restored_from_a_backup_or_given_up(tmp_path, capsys):
    root, copy = tmp_path / "a", tmp_path / "b"
    lo = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=200)
    frame = generate_activity(900, start=lo, end=lo + timedelta(days=3), seed=6, plan_id=3)
    store_days(root, frame, lo, 3)
    main(["archive", "export", str(copy), "--archive", str(root)])
    day = (lo + timedelta(days=1)).date()
    path = day_path(root, "3", day)
    flip_bit(path, 50, 1)
    assert main(["status", "--archive", str(root), "--offline"]) == 1
    out = capsys.readouterr().out
    assert "restore the file(s) from a backup" in out and "wsframes archive accept-loss" in out
    path.write_bytes(day_path(copy, "3", day).read_bytes())  # the restore
    assert main(["archive", "verify", str(root)]) == 0
    flip_bit(path, 50, 1)
    assert main(["archive", "accept-loss", "--archive", str(root), "--plan-id", "3",
                 "--start", str(lo.date()), "--end", str(day + timedelta(days=2))]) == 2  # intact days
    assert main(["archive", "accept-loss", "--archive", str(root), "--plan-id", "3",
                 "--start", str(day), "--end", str(day + timedelta(days=1))]) == 0
    capsys.readouterr()
    assert main(["status", "--archive", str(root), "--offline"]) == 1  # a gap lost to the API now
    assert "is damaged" not in capsys.readouterr().out
    kept = scan_activity(root, plan_id=3, allow_gaps=True).collect()
    assert kept.equals(frame.filter(pl.col("timestamp").dt.date() != day))


def test_an_archive_without_checksums_is_upgraded_by_the_next_sync(same_records, fake, archive, args):
    sync(archive, start="3d", **args)
    raw = json.loads((archive / MANIFEST_NAME).read_text())
    raw["version"] = 1
    del raw["files"]
    (archive / MANIFEST_NAME).write_text(json.dumps(raw))  # as written by wsframes 0.1
    files = plan_files(archive, str(PLAN))
    (plan,) = archive_status(archive).plans
    assert any("no checksums yet" in w for w in plan.warnings)
    # One day decodes no more; another lost records yet reads cleanly (only the counts tell).
    zstd_garbage(files[0])
    short = pl.read_parquet(files[1]).head(-5)
    short.write_parquet(files[1])
    result = sync(archive, start="3d", **args)
    assert "upgraded the archive to checksums" in str(result)
    assert {files[0].parent.name[5:], files[1].parent.name[5:]} <= {str(d) for d in result.repaired}
    manifest = Manifest.load(archive)
    assert manifest.checksummed and set(manifest.files[str(PLAN)]) == {p.parent.name[5:] for p in files}
    lo = manifest.covered(str(PLAN))[0][0]
    assert same_records(scan_activity(archive, plan_id=PLAN).collect(),
                        fake.truth(PLAN).filter(pl.col("timestamp") >= lo))


def test_the_verification_cache_never_hides_a_same_size_change(small):
    root, frame = small
    path = plan_files(root, "3")[0]
    old = path.stat().st_mtime_ns - 3_600_000_000_000
    os.utime(path, ns=(old, old))  # old enough to be cached
    integrity.clear_cache()
    assert scan_activity(root, plan_id=3).collect().equals(frame)
    assert str(path) in integrity._VERIFIED
    original = flip_bit(path, 200, 4)
    os.utime(path, ns=(old, old))  # same size, same mtime: as on a file system with coarse times
    try:
        with pytest.raises(DamagedFileError):
            scan_activity(root, plan_id=3)
    finally:
        path.write_bytes(original)


def test_a_rust_panic_counts_as_an_engine_error_but_ctrl_c_does_not():
    PanicException = type("PanicException", (BaseException,), {})  # what pyo3 raises
    assert is_engine_error(PanicException("called `Option::unwrap()` on a `None` value"))
    assert is_engine_error(pl.exceptions.ComputeError("zstd error: Data corruption detected"))
    assert not is_engine_error(KeyboardInterrupt())
