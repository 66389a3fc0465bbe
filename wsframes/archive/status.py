"""``archive_status``: what an archive holds per plan, its gaps, size, and what is about to be lost."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Unpack

import polars as pl

from wsframes._config import Config, ConfigOverrides, configure
from wsframes.archive.completeness import Completeness, check_completeness
from wsframes.archive.integrity import DamagedDay, damaged_days, plan_days, repair_commands
from wsframes.archive.manifest import MANIFEST_NAME, Manifest, Span, subtract
from wsframes.archive.remote import relabel, remote_url, s3_read
from wsframes.archive.scan import scan_spans
from wsframes.archive.store import DEFAULT_PLAN, day_span, plan_files, resolve_archive
from wsframes.errors import ArchiveError
from wsframes.timeutil import retention_floor, utc_now

__all__ = ["ArchiveStatus", "PlanStatus", "archive_status"]

#: Warn this long before a gap's oldest part leaves the API's 90-day window.
DEFAULT_WARN = timedelta(days=7)


@dataclass(frozen=True)
class PlanStatus:
    """One plan's coverage, size and warnings."""

    plan: str
    covered: list[Span]
    gaps: list[Span]  # holes between covered spans
    final_until: datetime | None
    last_fetched: datetime | None
    rows: int
    files: int
    bytes_on_disk: int
    warnings: list[str] = field(default_factory=list)
    damaged: list[DamagedDay] = field(default_factory=list)  # day files that cannot be read
    completeness: Completeness | None = None


@dataclass(frozen=True)
class ArchiveStatus:
    """The status of every plan of an archive (see :func:`archive_status`)."""

    archive: Path | str  # the s3:// URL for an archive on S3
    plans: list[PlanStatus]

    def __str__(self) -> str:
        lines = [f"archive {self.archive}"]
        for p in self.plans:
            lines.append(
                f"plan {p.plan}: {p.rows:,} rows in {p.files} day file(s), "
                f"{p.bytes_on_disk / 1e6:.2f} MB on disk"
                + (f" ({p.bytes_on_disk / p.rows:.1f} bytes/record{_overhead(p)})" if p.rows else "")
                + (f"; {len(p.damaged)} damaged day file(s), their rows not counted" if p.damaged else "")
            )
            lines += [f"  covered {_span(s)}" for s in p.covered]
            if p.final_until is not None:
                lines.append(f"  final up to {p.final_until:%Y-%m-%d %H:%M} UTC "
                             f"(last fetched {p.last_fetched:%Y-%m-%d %H:%M} UTC)")
            lines += [f"  gap {_span(g)}" for g in p.gaps]
            lines += [f"  WARNING: {w}" for w in p.warnings]
            if p.completeness is not None:
                lines += ["  " + line for line in str(p.completeness).splitlines()]
        return "\n".join(lines)


#: Below this many records per day file, Parquet's fixed cost per file (footer, page headers,
#: dictionaries: a few KB) dominates, and the ~20 bytes/record of large archives does not hold.
LARGE_DAY = 50_000


def _overhead(p: PlanStatus) -> str:
    if p.files and p.rows / p.files < LARGE_DAY:
        return (f"; small days: each file carries a few KB of Parquet overhead, so ~20 bytes/record "
                f"holds only from about {LARGE_DAY:,} records/day")
    return ""


def _span(span: Span) -> str:
    return f"{span[0]:%Y-%m-%d %H:%M} .. {span[1]:%Y-%m-%d %H:%M} UTC"


def retention_warnings(gaps: list[Span], *, now: datetime, warn: timedelta, archive: Path) -> list[str]:
    """Messages for gaps whose oldest part has left, or will soon leave, the API's window."""
    floor = retention_floor(now)
    out = []
    for a, b in gaps:
        if b <= floor:
            out.append(f"gap {_span((a, b))} is older than 90 days: the API no longer serves it.")
        elif a < floor:
            out.append(f"gap {_span((a, b))}: before {floor:%Y-%m-%d %H:%M} UTC it is already lost; "
                       f"sync the rest now: wsframes sync --archive {archive} --start 90d")
        elif a < floor + warn:
            days = (a - floor) / timedelta(days=1)
            out.append(f"gap {_span((a, b))} starts leaving the API's 90-day window in {days:.1f} days; "
                       f"sync it now: wsframes sync --archive {archive} --start {a:%Y-%m-%dT%H:%M}Z")
    return out


def _plan_status(root: Path, plan: str, manifest: Manifest, *, now: datetime, warn: timedelta) -> PlanStatus:
    intervals = manifest.intervals(plan)
    covered = manifest.covered(plan)
    gaps = [(covered[i][1], covered[i + 1][0]) for i in range(len(covered) - 1)]
    # The stretch since the last sync is also history that the API will eventually drop.
    unsynced = [(covered[-1][1], now)] if covered and covered[-1][1] < now else []
    final = manifest.covered(plan, final_only=True)
    files = plan_files(root, plan)
    # Every file's bytes against its checksum (and a recorded file that vanished is damage too).
    damaged = damaged_days(root, plan, plan_days(root, plan, manifest), manifest)
    # Rows of the sound days only; a damaged day is reported (with its repair), not read.
    bad = [day_span(d.day) for d in damaged]
    sound = [g for s in covered for g in subtract(s, bad)]
    rows = scan_spans(root, plan, sound, manifest).select(pl.len()).collect().item() if sound else 0
    problems = [f"archive file {d.path} is damaged ({d.problem})" for d in damaged]
    problems += repair_commands(root, damaged, now=now)
    if not manifest.checksummed and files:
        problems.append(f"the day files have no checksums yet (archive written by an older wsframes); "
                        f"the next sync adds them: wsframes sync --archive {root}")
    return PlanStatus(
        plan=plan,
        covered=covered,
        gaps=gaps,
        final_until=final[-1][1] if final else None,
        last_fetched=max((i.fetched_at for i in intervals), default=None),
        rows=int(rows),
        files=len(files),
        bytes_on_disk=sum(p.stat().st_size for p in files),
        warnings=problems + retention_warnings(gaps + unsynced, now=now, warn=warn, archive=root),
        damaged=damaged,
    )


def archive_status(
    archive: str | os.PathLike[str] | None = None,
    *,
    check: bool = False,
    warn: timedelta = DEFAULT_WARN,
    config: Config | None = None,
    storage_options: Mapping[str, Any] | None = None,
    **settings: Unpack[ConfigOverrides],
) -> ArchiveStatus:
    """Coverage, gaps, rows and size per plan; with ``check=True`` also the completeness check.

    Offline unless *check* is true (which asks the API's hourly stats, one request per plan).
    Every day file's Parquet footer is checked (not its data); damaged days are listed in
    :attr:`PlanStatus.damaged` and in the warnings with the command that repairs them, and left
    out of the row count and the completeness check. An ``s3://bucket/prefix`` archive
    (*storage_options* as for :func:`wsframes.archive.sync`) is checked object by object; a
    damaged object is named by its URL. *config* and *settings* (HTTP settings for the check)
    as for :func:`wsframes.archive.sync`.
    """
    cfg = configure(config, settings)
    url = remote_url(archive, storage_options)
    if url is not None:
        with s3_read(url, storage_options) as view:
            local = archive_status(view.root, check=check, warn=warn, config=cfg)
            return relabel(local, view.root, url)
    root = resolve_archive(archive)
    if not (root / MANIFEST_NAME).exists():
        raise ArchiveError(f"{root} is not a wsframes archive yet; run `wsframes sync --archive {root}`.")
    manifest = Manifest.load(root)
    now = utc_now()
    plans = []
    for plan in sorted(manifest.plans):
        status = _plan_status(root, plan, manifest, now=now, warn=warn)
        if plan == DEFAULT_PLAN and len(manifest.plans) > 1:
            # Written before sync refused the mix: whole-dataset readers may count a plan twice.
            status.warnings.append(
                "this archive holds the default plan (plan_id=default) next to plans by id; if the "
                "default plan is one of them, DuckDB/Spark queries over **/*.parquet count it twice. "
                "Filter on plan_id, or move plan_id=default to its own archive."
            )
        if check and status.damaged:
            status.warnings.append("completeness not checked: repair the damaged day files first.")
        elif check:
            base, _, subuser = plan.partition("-subuser")  # see plan_key
            plan_id = None if base == DEFAULT_PLAN else int(base)
            result = check_completeness(root, plan_id=plan_id, config=cfg,
                                        subuser=int(subuser) if subuser else None)
            status = dataclasses.replace(status, completeness=result)
        plans.append(status)
    return ArchiveStatus(root, plans)
