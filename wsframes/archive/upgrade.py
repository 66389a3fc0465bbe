"""Upgrading a version 1 archive (no checksums) on its next sync.

A checksum only proves that a file still holds the bytes it had when the sum was taken, so sums are
recorded only for files that deserve them: the footer is sound, every page decodes (with page
checksums where present) and, for the plan being synced, each hour the API still counts holds
exactly the API's ``requests_total``. A file failing any of these gets no sum: the sync fetches
its day again when the API still serves it, and ``status`` names it otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from wsframes.archive.completeness import HOUR, full_hours, stats_floor
from wsframes.archive.integrity import DamagedDay, decode_problem, plan_days
from wsframes.archive.manifest import Manifest
from wsframes.archive.store import day_path, file_sha256, stored_plans

__all__ = ["Upgrade", "upgrade_manifest"]

log = logging.getLogger(__name__)


@dataclass
class Upgrade:
    """What upgrading a version 1 archive found."""

    checksummed: int = 0  # day files verified and given a sum
    damaged: list[DamagedDay] = field(default_factory=list)  # no sum: damaged or disagreeing

    def __str__(self) -> str:
        bad = (f"; {len(self.damaged)} day file(s) failed verification and got none "
               f"({', '.join(str(d.day) for d in self.damaged[:5])}"
               f"{' ...' if len(self.damaged) > 5 else ''})" if self.damaged else "")
        return (f"upgraded the archive to checksums: {self.checksummed} day file(s) verified and "
                f"checksummed{bad}")


def upgrade_manifest(root: Path, manifest: Manifest, *, plan: str, stats: pl.DataFrame | None,
                     now: datetime) -> Upgrade:
    """Record a checksum for every sound day file of a version 1 *manifest* (in memory).

    *stats* are the API's hourly stats of *plan* (``timestamp``, ``requests_total``) over the hours
    it still counts, or None to skip that comparison.
    """
    result = Upgrade()
    for key in sorted(set(manifest.plans) | set(stored_plans(root))):
        days = plan_days(root, key, manifest)
        bad: set[date] = set()
        for day in days:
            path = day_path(root, key, day)
            if path.exists() and (problem := decode_problem(path, day)) is not None:
                result.damaged.append(DamagedDay(key, day, path, problem))
                bad.add(day)
        if key == plan and stats is not None:
            clean = [d for d in days if d not in bad]
            for day in sorted(_disagreeing(root, key, manifest, clean, stats, now=now)):
                result.damaged.append(DamagedDay(key, day, day_path(root, key, day),
                                                 "its hourly counts disagree with the API's"))
                bad.add(day)
        for day in days:
            path = day_path(root, key, day)
            if day not in bad and path.exists():
                manifest.set_sum(key, day.isoformat(), *file_sha256(path))
                result.checksummed += 1
    manifest.checksummed = True
    log.info("%s", result)
    return result


def _disagreeing(root: Path, plan: str, manifest: Manifest, days: list[date], stats: pl.DataFrame,
                 *, now: datetime) -> set[date]:
    """Days holding a settled hour whose record count differs from the API's hourly stats."""
    stats = stats.filter(~pl.col("is_projected")) if "is_projected" in stats.columns else stats
    offset = timedelta(0)
    if stats.height:  # an account zone like +05:30 shifts the hours off the UTC hour
        first = stats["timestamp"][0]
        offset = first - first.replace(minute=0, second=0, microsecond=0)
    floor = stats_floor(now)  # the hours sync asked the stats for
    final = [(max(a, floor), b) for a, b in manifest.covered(plan, final_only=True) if b > floor]
    hours = [h for h in full_hours(final, offset=offset)
             if h.date() in days and (h + HOUR - timedelta(microseconds=1)).date() in days]
    if not hours:
        return set()
    files = [str(day_path(root, plan, d)) for d in sorted({h.date() for h in hours})]
    grid = pl.DataFrame({"hour": hours}, schema={"hour": pl.Datetime("us", "UTC")})
    ts = pl.col("timestamp")
    archived = (
        pl.scan_parquet(files, hive_partitioning=False).select("timestamp")
        .filter(ts.is_between(hours[0], hours[-1] + HOUR, closed="left"))
        .group_by(hour=(ts - offset).dt.truncate("1h") + offset).agg(archived=pl.len().cast(pl.Int64))
        .collect()
    )
    api = stats.select(hour="timestamp", api=pl.col("requests_total").cast(pl.Int64))
    table = (grid.join(archived, on="hour", how="left").join(api, on="hour", how="left")
             .with_columns(pl.col("archived", "api").fill_null(0))
             .filter(pl.col("archived") != pl.col("api")))
    out = set()
    for hour in table["hour"]:
        out |= {hour.date(), (hour + HOUR - timedelta(microseconds=1)).date()}
    return out
