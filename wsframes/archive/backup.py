"""Backups of the archive, proof that a copy is intact, and the explicit loss of a damaged day.

After 90 days the archive is the only copy of its history, so it needs a backup that can be proven
intact: :func:`export_archive` copies it (verifying every byte it copies against the manifest, and
only the files that changed when the destination is an earlier export), and
:func:`verify_archive` checks any copy against its own manifest, anywhere, offline.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from wsframes._atomic import atomic_write, fsync_dir
from wsframes.archive._publish import published
from wsframes.archive.integrity import DamagedDay, damaged_days, plan_days, raise_if_damaged, repair_commands
from wsframes.archive.manifest import MANIFEST_NAME, Interval, Manifest, subtract
from wsframes.archive.remote import relabel, remote_url, s3_read, s3_write
from wsframes.archive.store import (
    DATA_FILE,
    archive_lock,
    day_path,
    day_span,
    days_touching,
    file_sha256,
    plan_key,
    resolve_archive,
    stored_plans,
)
from wsframes.errors import ArchiveError, ConfigurationError
from wsframes.timeutil import TimeLike, resolve_window, utc_now

__all__ = ["ExportResult", "VerifyResult", "accept_loss", "export_archive", "verify_archive"]


@dataclass(frozen=True)
class VerifyResult:
    """Every day file of an archive checked against its manifest."""

    archive: Path | str  # the s3:// URL for an archive on S3
    files: int
    bytes: int
    damaged: list[DamagedDay] = field(default_factory=list)
    checksummed: bool = True

    @property
    def ok(self) -> bool:
        return not self.damaged and self.checksummed

    def __str__(self) -> str:
        head = f"archive {self.archive}: {self.files} day file(s), {self.bytes / 1e6:.2f} MB"
        if not self.checksummed:
            return (f"{head}; no checksums (written by an older wsframes): the next `wsframes sync "
                    f"--archive {self.archive}` adds them. Decoded every file instead: "
                    + ("all decode cleanly" if not self.damaged else f"{len(self.damaged)} damaged"))
        if not self.damaged:
            return f"{head}; every file matches the SHA-256 in its manifest"
        lines = [f"{head}; {len(self.damaged)} damaged:"]
        lines += [f"  {d.path}: {d.problem}" for d in self.damaged]
        lines += ["  " + c for c in repair_commands(self.archive, self.damaged, now=utc_now())]
        return "\n".join(lines)


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_archive` copied."""

    source: Path | str  # the s3:// URL for an archive on S3
    dest: Path
    copied: int
    unchanged: int
    removed: int
    bytes_copied: int

    def __str__(self) -> str:
        return (f"exported {self.source} to {self.dest}: {self.copied} day file(s) copied "
                f"({self.bytes_copied / 1e6:.2f} MB), {self.unchanged} unchanged, {self.removed} "
                f"removed; verify the copy any time with `wsframes archive verify {self.dest}`")


def _require_archive(root: Path) -> Manifest:
    if not (root / MANIFEST_NAME).exists():
        raise ArchiveError(f"{root} is not a wsframes archive (no {MANIFEST_NAME}).")
    return Manifest.load(root)


def verify_archive(archive: str | os.PathLike[str] | None = None, *,
                   storage_options: Mapping[str, Any] | None = None) -> VerifyResult:
    """Check every day file of the archive (or a copy of it) against its own manifest, offline.

    Returns a :class:`VerifyResult`; its ``ok`` is False when a file is damaged, missing, not
    recorded, or the archive has no checksums yet. An ``s3://bucket/prefix`` archive
    (*storage_options* as for :func:`wsframes.archive.sync`) has every object downloaded afresh
    and checked; a damaged one is named by its URL.
    """
    url = remote_url(archive, storage_options)
    if url is not None:
        with s3_read(url, storage_options, fresh=True) as view:
            return relabel(verify_archive(view.root), view.root, url)
    root = resolve_archive(archive)
    manifest = _require_archive(root)
    damaged: list[DamagedDay] = []
    files = size = 0
    for plan in sorted(set(manifest.plans) | set(manifest.files) | set(stored_plans(root))):
        days = plan_days(root, plan, manifest)
        damaged += damaged_days(root, plan, days, manifest)
        for day in days:
            path = day_path(root, plan, day)
            if path.exists():
                files, size = files + 1, size + path.stat().st_size
    return VerifyResult(root, files, size, damaged, manifest.checksummed)


def export_archive(
    archive: str | os.PathLike[str] | None, dest: str | os.PathLike[str], *, lock_timeout: float = 60.0,
    storage_options: Mapping[str, Any] | None = None,
) -> ExportResult:
    """Copy the archive to *dest* (a new or empty directory, or an earlier export to update).

    Holds the archive's lock, so no sync changes it meanwhile. Every copied file is hashed as
    written and must match the source manifest, and the manifest is copied last: an interrupted
    export is found by :func:`verify_archive`. Raises DamagedFileError when the source holds a
    damaged file (repair it first: a backup of damage proves nothing) and ArchiveError for an
    archive without checksums (sync it once first). The source may be an ``s3://bucket/prefix``
    archive (*storage_options* as for :func:`wsframes.archive.sync`; its lock is held while the
    objects are downloaded); the destination is a local directory.
    """
    if remote_url(dest) is not None:
        raise ConfigurationError(f"export destination {dest} is on S3; export to a local directory (an "
                                 "S3 archive is exported from, not to), or copy with your S3 tools and "
                                 "check the copy with `wsframes archive verify s3://...`.")
    url = remote_url(archive, storage_options)
    if url is not None:
        with s3_read(url, storage_options, fresh=True, lock_timeout=lock_timeout) as view:
            return relabel(export_archive(view.root, dest, lock_timeout=lock_timeout), view.root, url)
    root = resolve_archive(archive)
    target = resolve_archive(dest)
    if target.resolve() == root.resolve() or root.resolve() in target.resolve().parents:
        raise ConfigurationError(f"export destination {target} must lie outside the archive {root}.")
    if target.exists() and any(target.iterdir()) and not (target / MANIFEST_NAME).exists():
        raise ConfigurationError(f"export destination {target} is neither empty nor an earlier export.")
    with archive_lock(root, timeout=lock_timeout):
        manifest = _require_archive(root)
        if not manifest.checksummed:
            raise ArchiveError(f"the archive {root} has no checksums yet (written by an older wsframes); "
                               f"run `wsframes sync --archive {root}` once, then export.")
        old = Manifest.load(target) if (target / MANIFEST_NAME).exists() else Manifest()
        copied = unchanged = nbytes = 0
        for plan in sorted(manifest.files):
            c, u, n = _export_plan(root, target, plan, manifest, old)
            copied, unchanged, nbytes = copied + c, unchanged + u, nbytes + n
        removed = _prune(target, manifest)
        target.mkdir(parents=True, exist_ok=True)
        atomic_write(target / MANIFEST_NAME, lambda tmp: shutil.copyfile(root / MANIFEST_NAME, tmp))
    return ExportResult(root, target, copied, unchanged, removed, nbytes)


def _export_plan(
    root: Path, target: Path, plan: str, manifest: Manifest, old: Manifest
) -> tuple[int, int, int]:
    """Copy one plan's changed day files; returns (copied, unchanged, bytes copied)."""
    days = plan_days(root, plan, manifest)
    raise_if_damaged(root, damaged_days(root, plan, days, manifest), now=utc_now())
    copied = unchanged = nbytes = 0
    for day in days:
        want = manifest.file_sum(plan, day.isoformat())
        if want is None or want.sha256 is None:
            continue
        dst = day_path(target, plan, day)
        have = old.file_sum(plan, day.isoformat())
        # An earlier export's file is kept only if its bytes still hash right: it is a backup.
        if have and have.sha256 == want.sha256 and dst.exists() and file_sha256(dst)[0] == want.sha256:
            unchanged += 1
            continue
        _copy_verified(day_path(root, plan, day), dst, want.sha256)
        copied, nbytes = copied + 1, nbytes + (want.size or 0)
    return copied, unchanged, nbytes


def _prune(target: Path, manifest: Manifest) -> int:
    """Delete the destination's day files that the source no longer holds."""
    removed = 0
    for path in sorted(target.glob(f"plan_id=*/date=*/{DATA_FILE}")):
        plan = path.parent.parent.name.removeprefix("plan_id=")
        if manifest.file_sum(plan, path.parent.name.removeprefix("date=")) is None:
            path.unlink()
            removed += 1
    return removed


def _copy_verified(src: Path, dst: Path, sha256: str) -> None:
    if not dst.parent.exists():
        dst.parent.mkdir(parents=True)
        fsync_dir(dst.parent.parent)

    def write(tmp: Path) -> None:
        shutil.copyfile(src, tmp)
        if file_sha256(tmp)[0] != sha256:  # the source changed or the copy was damaged in flight
            raise ArchiveError(f"copying {src} to {dst} did not reproduce its recorded SHA-256; retry.")

    atomic_write(dst, write)


def accept_loss(
    archive: str | os.PathLike[str] | None, start: TimeLike, end: TimeLike, *,
    plan_id: int | None = None, lock_timeout: float = 60.0,
    storage_options: Mapping[str, Any] | None = None,
) -> list[date]:
    """Give up the damaged day files among the UTC days of ``[start, end)``; returns those days.

    Their files are deleted, their checksums dropped and their time removed from the archive's
    coverage, so scans over them raise IncompleteDataError (a gap, said plainly) instead of
    DamagedFileError. Only damaged days are touched: a sound day in the range raises
    ConfigurationError, before anything is deleted. This is the explicit way to accept losing
    records the API no longer serves when no backup holds them.
    """
    url = remote_url(archive, storage_options)
    plan = plan_key(plan_id)
    lo, hi = resolve_window(start, end, now=utc_now())
    if url is not None:
        with s3_write(url, storage_options, lock_timeout=lock_timeout) as view:
            return accept_loss(view.root, start, end, plan_id=plan_id, lock_timeout=lock_timeout)
    root = resolve_archive(archive)
    with archive_lock(root, timeout=lock_timeout):
        manifest = _require_archive(root)
        days = days_touching(lo, hi)
        damaged = {d.day: d for d in damaged_days(root, plan, days, manifest)}
        sound = [d for d in days if d not in damaged and day_path(root, plan, d).exists()]
        if sound:
            raise ConfigurationError(
                f"day file(s) {', '.join(map(str, sound[:5]))} of plan {plan} are intact; accept-loss "
                f"removes damaged days only. Narrow --start/--end to the damaged days.")
        for day, bad in sorted(damaged.items()):
            bad.path.unlink(missing_ok=True)
            published(bad.path)  # an S3 archive deletes the object
            manifest.set_sum(plan, day.isoformat(), None, None)
            _forget(manifest, plan, day)
        manifest.save(root)
    return sorted(damaged)


def _forget(manifest: Manifest, plan: str, day: date) -> None:
    span = day_span(day)
    kept = [Interval(a, b, i.fetched_at, i.final)
            for i in manifest.intervals(plan) for a, b in subtract((i.start, i.end), [span])]
    manifest.plans[plan] = kept

