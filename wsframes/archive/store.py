"""The archive on disk: a Hive-partitioned Parquet dataset, one file per plan and UTC day.

Layout::

    <root>/_wsframes_manifest.json                     covered intervals (see manifest.py)
    <root>/.wsframes.lock                              held by the one sync allowed to write
    <root>/plan_id=<id or "default">/date=<YYYY-MM-DD>/activity.parquet

Why one file per day, rewritten whole: a day that gains records across syncs (the unsettled tail,
late records) is replaced by a single atomic rename, so at every instant each day has exactly one
file that is either the old or the new version. No reader (ours, DuckDB, Spark) can ever see two
overlapping generations of a day, and a killed sync leaves nothing to reconcile except hidden
``.tmp`` files, which the next sync deletes.

Encoding: rows stay in timestamp order (the order the loader returns and the column every query
filters on, so row-group statistics prune); the timestamp and proxy ports are delta-encoded,
byte counts plain; every other column is dictionary-encoded, which also stores the whole-millisecond
durations losslessly in under two bytes (few distinct values) while keeping them plain ``DOUBLE``
for every engine; then zstd, with a CRC32 in every page header (readers that check them, such as
pyarrow with ``page_checksum_verification=True``, catch damage on their own). The SHA-256 of every
file's exact bytes is recorded in the manifest (see :mod:`wsframes.archive.integrity`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import filelock
import platformdirs
import polars as pl
import pyarrow.parquet as pq

from wsframes._atomic import atomic_write, fsync_dir, is_temp
from wsframes._validate import check_plan_id
from wsframes.archive._publish import published
from wsframes.archive.manifest import Manifest, Span
from wsframes.errors import ArchiveError, ConfigurationError
from wsframes.schema import ACTIVITY_SCHEMA

__all__ = [
    "ARCHIVE_ENV",
    "DATA_FILE",
    "DEFAULT_PLAN",
    "archive_lock",
    "day_path",
    "days_touching",
    "default_archive",
    "file_sha256",
    "plan_key",
    "read_day",
    "remove_temp_files",
    "replace_range",
    "resolve_archive",
    "write_day",
]

log = logging.getLogger(__name__)

#: Environment variable naming the default archive directory.
ARCHIVE_ENV = "WSFRAMES_ARCHIVE"
#: Name of the single data file of a day partition.
DATA_FILE = "activity.parquet"
LOCK_NAME = ".wsframes.lock"
DEFAULT_PLAN = "default"

ZSTD_LEVEL = 9
ROW_GROUP_ROWS = 1024 * 1024
# Near-unique integers, where a dictionary costs more than it saves: sorted timestamps and ports
# delta-encode well, byte counts compress best plain. Measured on synthetic days of 333k rows.
# BYTE_STREAM_SPLIT would shave ~0.5 byte off `bytes`, but Spark 3 cannot read it for integers.
_DELTA_COLUMNS = ("timestamp", "proxy_port")
_NO_DICTIONARY = (*_DELTA_COLUMNS, "bytes")


def default_archive() -> Path:
    """``$WSFRAMES_ARCHIVE``, else ``<user data dir>/wsframes/archive``."""
    env = os.environ.get(ARCHIVE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("wsframes")) / "archive"


def resolve_archive(archive: str | os.PathLike[str] | None) -> Path:
    """The archive directory to use; raises ConfigurationError when it cannot be one."""
    if archive is not None and not isinstance(archive, str | os.PathLike):
        raise ConfigurationError(
            f"archive must be a directory path (str or Path), not {type(archive).__name__}."
        )
    root = default_archive() if archive is None or str(archive).strip() == "" else Path(archive)
    if str(root).lower().startswith("s3:"):  # Path folds s3://b/p into s3:/b/p: never a local dir
        raise ConfigurationError(
            f"this operation needs a local archive directory, not {str(archive or root)!r}; on S3 use "
            "sync, scan_activity, load_activity(archive=), archive_status, check_completeness, "
            "verify_archive, export_archive (from S3) or accept_loss, with the URL as a str."
        )
    root = root.expanduser()
    if root.exists() and not root.is_dir():
        raise ConfigurationError(f"archive {root} exists but is not a directory; pass a directory.")
    return root


def plan_key(plan_id: int | None, subuser: int | None = None) -> str:
    """The partition value for a plan: its id, or ``"default"`` for the account's default plan.

    A sub-user's view of a plan is its own partition, ``<plan>-subuser<id>`` (its records are
    also in the account's view: keep both in one archive only if readers never sum across them).
    """
    if subuser is not None:
        if isinstance(subuser, bool) or not isinstance(subuser, int) or subuser <= 0:
            raise ConfigurationError(f"subuser must be a positive integer or None, not {subuser!r}.")
        return f"{plan_key(plan_id)}-subuser{subuser}"
    return DEFAULT_PLAN if check_plan_id(plan_id) is None else str(plan_id)


def day_path(root: Path, plan: str, day: date) -> Path:
    """Path of the data file of one plan's UTC day."""
    return root / f"plan_id={plan}" / f"date={day.isoformat()}" / DATA_FILE


def days_touching(start: datetime, end: datetime) -> list[date]:
    """The UTC days that the half-open span ``[start, end)`` touches.

    >>> t = datetime(2026, 11, 1, 23, tzinfo=UTC)
    >>> [d.day for d in days_touching(t, t + timedelta(hours=1))]
    [1]
    >>> [d.day for d in days_touching(t, t + timedelta(hours=2))]
    [1, 2]
    """
    first = start.astimezone(UTC).date()
    last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)] if end > start else []


def day_span(day: date) -> Span:
    """``[midnight, next midnight)`` of a UTC day."""
    lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return lo, lo + timedelta(days=1)


def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file's exact bytes (about 1.5 GB/s with SHA-NI)."""
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
        return digest, os.fstat(fh.fileno()).st_size


def is_engine_error(exc: BaseException) -> bool:
    """True for what a Parquet engine raises on damaged bytes, including a Rust panic (pyo3's
    PanicException derives from BaseException, so ``except Exception`` would let it through)."""
    if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError):
        return False
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def read_day(path: Path) -> pl.DataFrame:
    """One day file as an activity frame (empty with the full schema if the file is absent).

    Callers verify the file first (:func:`wsframes.archive.integrity.damaged_days`); this only
    turns an engine failure into ArchiveError naming the file.
    """
    if not path.exists():
        return pl.DataFrame(schema=ACTIVITY_SCHEMA)
    try:
        frame = pl.read_parquet(path, hive_partitioning=False)
    except BaseException as exc:
        if not is_engine_error(exc):
            raise
        raise ArchiveError(f"archive file {path} is unreadable ({exc}).") from None
    return frame.select(ACTIVITY_SCHEMA.names()).cast(ACTIVITY_SCHEMA)


def write_day(
    path: Path, frame: pl.DataFrame, *, before_rename: Callable[[str | None, int | None], None] | None = None
) -> tuple[str, int] | None:
    """Atomically replace one day file with *frame* (deleting it when the frame is empty).

    Returns the new file's SHA-256 and size (None when deleted). *before_rename* gets them while
    the new file is still hidden, so the manifest can accept it before any reader can see it.
    """
    if frame.is_empty():
        if path.exists():
            if before_rename is not None:
                before_rename(None, None)
            path.unlink()
            fsync_dir(path.parent)
            published(path)
        return None
    if not path.parent.exists():
        path.parent.mkdir(parents=True)
        fsync_dir(path.parent.parent)
    table = frame.select(ACTIVITY_SCHEMA.names()).to_arrow()

    def write(tmp: Path) -> None:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            compression_level=ZSTD_LEVEL,
            use_dictionary=[c for c in table.column_names if c not in _NO_DICTIONARY],
            column_encoding=dict.fromkeys(_DELTA_COLUMNS, "DELTA_BINARY_PACKED"),
            row_group_size=ROW_GROUP_ROWS,
            write_page_checksum=True,
        )
        written.append(file_sha256(tmp))
        if before_rename is not None:
            before_rename(*written[0])

    written: list[tuple[str, int]] = []
    atomic_write(path, write)
    published(path)  # an S3 archive PUTs the whole object now, after the pending sum is saved
    return written[0]


def _within(spans: Sequence[Span]) -> pl.Expr:
    ts = pl.col("timestamp")
    return pl.any_horizontal([(ts >= a) & (ts < b) for a, b in spans]) if spans else pl.lit(False)


def replace_range(
    root: Path, plan: str, start: datetime, end: datetime, fetched: pl.DataFrame, *,
    keep: Sequence[Span], unreadable: Collection[date] = (), manifest: Manifest | None = None,
) -> int:
    """Make the day files hold exactly *fetched* for ``[start, end)``; returns files rewritten.

    Rows outside ``[start, end)`` survive only where *keep* (the manifest's covered spans) says
    they are covered, which also sweeps away rows a killed sync wrote but never recorded. The
    files of *unreadable* days (damaged) are replaced without being read: the caller fetches
    those days whole. Given the *manifest*, each new file's checksum is recorded in it (saved as
    pending before the rename; the caller saves it again once the range is recorded).
    """
    ts = pl.col("timestamp")
    rewritten = 0
    for day in days_touching(start, end):
        path = day_path(root, plan, day)
        lo, hi = day_span(day)
        new = fetched.filter((ts >= max(lo, start)) & (ts < min(hi, end)))
        if new.is_empty() and not path.exists():
            continue
        old = pl.DataFrame(schema=ACTIVITY_SCHEMA) if day in unreadable else read_day(path)
        old = old.filter(_within(keep))
        merged = pl.concat([old.filter(ts < start), new.select(old.columns), old.filter(ts >= end)])
        record = None if manifest is None else _pending(root, plan, day, manifest)
        write_day(path, merged, before_rename=record)
        rewritten += 1
    return rewritten


_OnWrite = Callable[[str | None, int | None], None]


def _pending(root: Path, plan: str, day: date, manifest: Manifest) -> _OnWrite:
    def record(sha256: str | None, size: int | None) -> None:
        manifest.set_pending(plan, day.isoformat(), sha256, size)
        manifest.save(root)
        # The pending sum becomes the sum: a crash from here on leaves a file matching one of them.
        manifest.set_sum(plan, day.isoformat(), sha256, size)
    return record


@contextlib.contextmanager
def archive_lock(root: Path, *, timeout: float) -> Iterator[None]:
    """Hold the archive's write lock, waiting at most *timeout* seconds for another sync."""
    lock = filelock.FileLock(str(root / LOCK_NAME), timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise ArchiveError(
            f"another wsframes sync is writing the archive {root} (it holds {root / LOCK_NAME}); "
            f"waited {timeout:g} s. Let it finish, or retry with a longer lock timeout."
        ) from None
    try:
        yield
    finally:
        lock.release()


def remove_temp_files(root: Path) -> int:
    """Delete temporary files left by a killed writer; call only while holding the lock."""
    removed = 0
    for path in root.rglob(".*.tmp"):
        if is_temp(path):
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted sync", removed)
    return removed


def plan_files(root: Path, plan: str) -> list[Path]:
    """Every day file of one plan, oldest day first."""
    return sorted((root / f"plan_id={plan}").glob(f"date=*/{DATA_FILE}"))


def stored_plans(root: Path) -> list[str]:
    """Plan keys with a partition directory."""
    return sorted(p.name.removeprefix("plan_id=") for p in root.glob("plan_id=*") if p.is_dir())
