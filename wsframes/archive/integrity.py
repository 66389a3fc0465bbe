"""Integrity of day files: every byte checked against the manifest before any data is used.

After 90 days the archive is the only copy of a user's history, and a flipped bit inside an
uncompressed page decodes as a valid, wrong number. So the manifest records the SHA-256 of every
day file's exact bytes (written with the file, see :mod:`wsframes.archive.store`), and status,
scans and syncs hash every file they need before reading it: about 1.5 GB/s, so a few percent of a
scan (``benchmarks/bench_archive.py``). A file verified once is not hashed again in the same
process while its size, times and inode are unchanged (and it is not too fresh for that to prove
anything).

Archives written before checksums (manifest version 1) are checked the best way left: the footer
(a file cut short loses it first) and a full decode with Parquet page checksums where present. The
next sync upgrades them (see :func:`wsframes.archive.upgrade.upgrade_manifest`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from wsframes.archive.manifest import Manifest
from wsframes.archive.store import DEFAULT_PLAN, day_path, day_span, file_sha256, is_engine_error
from wsframes.errors import DamagedFileError
from wsframes.schema import ACTIVITY_SCHEMA
from wsframes.timeutil import RETENTION_SLACK, retention_floor

__all__ = [
    "DamagedDay",
    "clear_cache",
    "damaged_days",
    "decode_problem",
    "file_problem",
    "plan_days",
    "raise_if_damaged",
    "refetchable",
    "repair_commands",
    "verify_day",
]

# path -> (stat key, sha256) of files whose bytes were hashed in this process ("" for a version 1
# file that decoded cleanly).
_VERIFIED: dict[str, tuple[tuple[int, ...], str]] = {}
#: A file modified this recently is not cached: a same-size change within the file system's
#: timestamp granularity would keep the same mtime (git's "racy" problem).
_RACY_NS = 2_000_000_000
_WORKERS = min(4, os.cpu_count() or 1)


def _stat_key(st: os.stat_result) -> tuple[int, ...] | None:
    """What must stay equal for a cached verification to hold (None: too fresh to cache)."""
    if time.time_ns() - st.st_mtime_ns < _RACY_NS:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def clear_cache() -> None:
    """Forget every verification made in this process (the next use hashes again)."""
    _VERIFIED.clear()


@dataclass(frozen=True)
class DamagedDay:
    """A day file that cannot be trusted, and why."""

    plan: str
    day: date
    path: Path
    problem: str

    def describe(self, root: Path, *, now: datetime) -> str:
        """What is wrong and the one command that repairs it (or that only a backup can)."""
        repair = repair_commands(root, [self], now=now)[0]
        return f"archive file {self.path} is damaged ({self.problem}); {repair}"


def refetchable(day: date, *, now: datetime) -> bool:
    """True when the API still serves the whole UTC *day* (the repair refetches it entirely)."""
    return day_span(day)[0] >= retention_floor(now, RETENTION_SLACK)


def repair_commands(root: Path | str, damaged: list[DamagedDay], *, now: datetime) -> list[str]:
    """One command per run of consecutive damaged days of a plan: the fewest that repair them all.

    Within the API's 90 days a sync over the run fetches it again; beyond, only a backup holds the
    records, or the user accepts their loss explicitly (``wsframes archive accept-loss``).
    """
    out = []
    keyed = sorted({(d.plan, d.day) for d in damaged})
    runs: list[tuple[str, date, date, bool]] = []
    for plan, day in keyed:
        ok = refetchable(day, now=now)
        if runs and runs[-1][0] == plan and runs[-1][3] == ok and runs[-1][2] + timedelta(days=1) == day:
            runs[-1] = (plan, runs[-1][1], day, ok)
        else:
            runs.append((plan, day, day, ok))
    for plan, first, last, ok in runs:
        flag = "" if plan == DEFAULT_PLAN else f" --plan-id {plan}"
        days = f"--start {first:%Y-%m-%d} --end {last + timedelta(days=1):%Y-%m-%d}"
        what = str(first) if first == last else f"{first} .. {last}"
        if ok:
            out.append(f"repair {what} from the API: wsframes sync --archive {root}{flag} --refetch {days}")
        else:
            out.append(
                f"the API no longer serves {what} (it keeps 90 days): restore the file(s) from a backup "
                f"(copy them back from your `wsframes archive export` copy, then `wsframes archive "
                f"verify {root}`), or accept the loss explicitly: wsframes archive accept-loss "
                f"--archive {root}{flag} {days}"
            )
    return out


def file_problem(path: Path, day: date | None = None) -> str | None:
    """Why the day file at *path* cannot be read, judged by its footer alone (None when sound).

    Checks magic bytes and metadata, the activity columns, a row count that the row groups add up
    to, column chunks that lie inside the file and, given its *day*, timestamp statistics inside
    that UTC day (a file copied into the wrong partition). Cheap, but blind to damaged data pages.
    """
    try:
        meta = pq.read_metadata(path)
        size = os.path.getsize(path)
    except BaseException as exc:
        if not is_engine_error(exc):
            raise
        return f"unreadable Parquet footer: {exc}"
    missing = sorted(set(ACTIVITY_SCHEMA.names()) - set(meta.schema.names))
    if missing:
        return f"missing columns {', '.join(missing)}"
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    if meta.num_rows <= 0 or sum(g.num_rows for g in groups) != meta.num_rows:
        # write_day never writes an empty file: a day without records has no file at all.
        return f"row count {meta.num_rows} does not match its row groups or is empty"
    for group in groups:
        for i in range(group.num_columns):
            chunk = group.column(i)
            first = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
            if first + chunk.total_compressed_size > size:
                return f"column {chunk.path_in_schema} extends past the end of the file ({size} bytes)"
    return None if day is None else _outside_day(meta, day)


def decode_problem(path: Path, day: date | None = None) -> str | None:
    """:func:`file_problem`, then a full decode with page checksums verified (None when sound)."""
    problem = file_problem(path, day)
    if problem is not None:
        return problem
    try:
        pq.read_table(path, page_checksum_verification=True, use_threads=False)
    except BaseException as exc:
        if not is_engine_error(exc):
            raise
        return f"data pages cannot be decoded: {type(exc).__name__}: {exc}"
    return None


def _outside_day(meta: pq.FileMetaData, day: date) -> str | None:
    lo, hi = day_span(day)
    column = meta.schema.names.index("timestamp")
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(column).statistics
        if stats is not None and stats.has_min_max and not (lo <= stats.min and stats.max < hi):
            return f"holds timestamps {stats.min} .. {stats.max}, outside its day {day}"
    return None


def verify_day(root: Path, plan: str, day: date, manifest: Manifest) -> str | None:
    """Why one day file of *plan* cannot be trusted, or None (also for a day without a file).

    With a checksummed manifest the file must hash to its recorded SHA-256 (or exist only when a
    sum is recorded); a version 1 archive gets :func:`decode_problem`.
    """
    path = day_path(root, plan, day)
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    if not manifest.checksummed:
        return None if st is None else _legacy_problem(path, st, day)
    expected = manifest.file_sum(plan, day.isoformat())
    if st is None:
        if expected is None or expected.accepts(None, None):
            return None
        return f"the file is missing; the manifest records {expected.size} bytes for it"
    if expected is None:
        return ("no checksum is recorded for it: it failed verification when the archive was upgraded "
                "to checksums, or was not written by a sync of this archive")
    key = _stat_key(st)
    cached = _VERIFIED.get(str(path))
    if key and cached and cached[0] == key and expected.accepts(st.st_size, cached[1]):
        return None
    try:
        digest, size = file_sha256(path)
    except OSError as exc:
        return f"unreadable: {exc}"
    if not expected.accepts(size, digest):
        # The footer often says how (cut short, copied from another day): worth the few KB.
        how = file_problem(path, day)
        return (f"its bytes do not match the SHA-256 recorded in the manifest ({size} bytes on disk, "
                f"{expected.size} recorded): it changed after it was written"
                + (f"; {how}" if how else ""))
    if key:
        _VERIFIED[str(path)] = (key, digest)
    return None


def _legacy_problem(path: Path, st: os.stat_result, day: date) -> str | None:
    # A version 1 file is decoded in full once per process while it keeps its size and mtime.
    key = _stat_key(st)
    if key and _VERIFIED.get(str(path)) == (key, ""):
        return None
    problem = decode_problem(path, day)
    if problem is None and key:
        _VERIFIED[str(path)] = (key, "")
    return problem


def damaged_days(
    root: Path, plan: str, days: Iterable[date], manifest: Manifest | None = None
) -> list[DamagedDay]:
    """The day files of *plan* among *days* that fail verification (:func:`verify_day`)."""
    manifest = Manifest.load(root) if manifest is None else manifest
    days = sorted(set(days))

    def check(day: date) -> str | None:
        return verify_day(root, plan, day, manifest)

    if len(days) > 1:
        # hashlib releases the GIL: hashing files side by side divides the cost by the cores.
        with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            problems = list(pool.map(check, days))
    else:
        problems = [check(d) for d in days]
    return [DamagedDay(plan, day, day_path(root, plan, day), problem)
            for day, problem in zip(days, problems, strict=True) if problem is not None]


def raise_if_damaged(root: Path, damaged: list[DamagedDay], *, now: datetime) -> None:
    """Raise DamagedFileError naming every damaged file, why, and the commands that repair them."""
    if not damaged:
        return
    lines = [f"archive file {d.path} is damaged ({d.problem})" for d in damaged[:5]]
    if len(damaged) > 5:
        lines.append(f"... and {len(damaged) - 5} more damaged day files")
    lines += repair_commands(root, damaged, now=now)
    raise DamagedFileError("\n".join(lines), paths=[str(d.path) for d in damaged])


def plan_days(root: Path, plan: str, manifest: Manifest) -> list[date]:
    """Every day with a file on disk or a sum in the manifest (a missing file is damage too)."""
    days = {date.fromisoformat(d) for d in manifest.files.get(plan, {})}
    for path in (root / f"plan_id={plan}").glob("date=*/activity.parquet"):
        try:
            days.add(date.fromisoformat(path.parent.name.removeprefix("date=")))
        except ValueError:  # a stray date=... directory is not a day of ours
            continue
    return sorted(days)

