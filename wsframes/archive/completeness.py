"""Completeness: do the archive's hourly record counts match the API's ``/stats/`` hour by hour?

``requests_total`` of an hourly stats object is what a complete activity pull must add up to. Only
hours that the archive covers entirely and that the API still serves (90 days) are compared.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Unpack

import polars as pl

from wsframes._config import Config, ConfigOverrides, configure
from wsframes.archive.manifest import MANIFEST_NAME, Manifest, Span
from wsframes.archive.remote import relabel, remote_url, s3_read
from wsframes.archive.scan import scan_spans
from wsframes.archive.store import plan_key, resolve_archive
from wsframes.errors import ArchiveError
from wsframes.timeutil import retention_floor, utc_now

__all__ = ["COMPLETENESS_SCHEMA", "Completeness", "check_completeness"]

HOUR = timedelta(hours=1)
#: Columns of :attr:`Completeness.hours`.
COMPLETENESS_SCHEMA = pl.Schema(
    {
        "hour": pl.Datetime("us", "UTC"),
        "archived": pl.Int64(),
        "api": pl.Int64(),
        "difference": pl.Int64(),
        "final": pl.Boolean(),  # False: unsettled, the next sync re-reads this hour anyway
    }
)


@dataclass(frozen=True)
class Completeness:
    """The hour-by-hour comparison of one plan's archive with the API's hourly stats."""

    plan: str
    hours: pl.DataFrame  # every compared hour (COMPLETENESS_SCHEMA)
    archive: Path | str | None = None  # named in the repair commands (an s3:// URL on S3)

    def repair_commands(self) -> list[str]:
        """One ``sync --refetch`` per run of consecutive disagreeing hours: the fewest commands."""
        runs: list[list[datetime]] = []
        for hour in self.mismatches["hour"].sort():
            if runs and runs[-1][1] == hour:
                runs[-1][1] = hour + HOUR
            else:
                runs.append([hour, hour + HOUR])
        where = f" --archive {self.archive}" if self.archive is not None else ""
        plan = "" if self.plan == "default" else f" --plan-id {self.plan}"
        return [f"wsframes sync{where}{plan} --refetch --start {a:%Y-%m-%dT%H:%M}Z --end {b:%Y-%m-%dT%H:%M}Z"
                for a, b in runs]

    @property
    def hours_checked(self) -> int:
        return self.hours.height

    @property
    def mismatches(self) -> pl.DataFrame:
        """Hours where the archive holds a different number of records than the API counts."""
        return self.hours.filter(pl.col("difference") != 0)

    @property
    def ok(self) -> bool:
        return self.mismatches.is_empty()

    def __str__(self) -> str:
        if self.ok:
            return f"plan {self.plan}: all {self.hours_checked} comparable hours match the API's counts"
        rows = [
            f"  {r['hour']:%Y-%m-%d %H:%M} UTC: archive {r['archived']}, API {r['api']}"
            + ("" if r["final"] else " (not final yet: the next sync re-reads it)")
            for r in self.mismatches.head(10).iter_rows(named=True)
        ]
        more = self.mismatches.height - len(rows)
        return "\n".join(
            [f"plan {self.plan}: {self.mismatches.height} of {self.hours_checked} hours disagree "
             "with the API:", *rows]
            + ([f"  ... and {more} more"] if more > 0 else [])
            + [f"  repair: {c}" for c in self.repair_commands()]
        )


def _ceil_hour(t: datetime) -> datetime:
    floor = t.replace(minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + HOUR


def stats_floor(now: datetime) -> datetime:
    """The first UTC hour whose hourly stats are compared with the archive: at least an hour inside
    the API's 90-day floor, so the API still counts it whole and the requests stay above the floor."""
    return _ceil_hour(retention_floor(now, HOUR))


def full_hours(spans: list[Span], *, offset: timedelta = timedelta(0)) -> list[datetime]:
    """Starts of the hours (aligned to *offset* past the UTC hour) lying wholly inside a span."""
    hours: list[datetime] = []
    for a, b in spans:
        h = _ceil_hour(a - offset) + offset
        while h + HOUR <= b:
            hours.append(h)
            h += HOUR
    return hours


def check_completeness(
    archive: str | os.PathLike[str] | None = None,
    *,
    plan_id: int | None = None,
    config: Config | None = None,
    storage_options: Mapping[str, Any] | None = None,
    **settings: Unpack[ConfigOverrides],
) -> Completeness:
    """Compare the archive's hourly counts with the API's hourly stats (``requests_total``).

    Covers the hours the archive holds wholly that are younger than 90 days (what the API still
    counts). Returns every compared hour; :attr:`Completeness.mismatches` are the disagreements.
    An ``s3://bucket/prefix`` archive is read through a verified local view (*storage_options*
    as for :func:`wsframes.archive.sync`). *config* and *settings* as for :func:`wsframes.archive.sync`
    (a ``subuser`` there selects that sub-user's plan in the archive, as sync stores it).
    """
    from wsframes.loader import Client

    cfg = configure(config, settings)
    url = remote_url(archive, storage_options)
    if url is not None:
        with s3_read(url, storage_options) as view:
            result = check_completeness(view.root, plan_id=plan_id, config=cfg)
            return relabel(result, view.root, url)
    root = resolve_archive(archive)
    if not (root / MANIFEST_NAME).exists():
        raise ArchiveError(f"{root} is not a wsframes archive yet; run `wsframes sync` first.")
    plan = plan_key(plan_id, cfg.subuser)
    now = utc_now()
    floor = stats_floor(now)
    manifest = Manifest.load(root)
    covered = [(max(a, floor), min(b, now)) for a, b in manifest.covered(plan) if b > floor]
    hours = full_hours([s for s in covered if s[0] < s[1]])
    if not hours:
        return Completeness(plan, pl.DataFrame(schema=COMPLETENESS_SCHEMA), root)
    with Client(cfg, progress=False) as client:
        stats = client.hourly_stats(hours[0], hours[-1] + HOUR, plan_id=plan_id)
    stats = stats.filter(~pl.col("is_projected"))
    offset = timedelta(0)
    if stats.height:  # an account zone like +05:30 shifts the hours off the UTC hour
        first = stats["timestamp"][0]
        offset = first - first.replace(minute=0, second=0, microsecond=0)
        hours = full_hours([s for s in covered if s[0] < s[1]], offset=offset)
    grid = pl.DataFrame({"hour": hours}, schema={"hour": COMPLETENESS_SCHEMA["hour"]})
    archived = (
        scan_spans(root, plan, [(h, h + HOUR) for h in hours])
        .group_by(hour=(pl.col("timestamp") - offset).dt.truncate("1h") + offset)
        .agg(archived=pl.len().cast(pl.Int64))
        .collect()
    )
    api = stats.select(hour="timestamp", api=pl.col("requests_total").cast(pl.Int64))
    table = (
        grid.join(archived, on="hour", how="left")
        .join(api, on="hour", how="left")
        .with_columns(pl.col("archived", "api").fill_null(0))
        .with_columns(
            difference=pl.col("archived") - pl.col("api"),
            final=pl.col("hour").is_in(full_hours(manifest.covered(plan, final_only=True), offset=offset)),
        )
        .sort("hour")
    )
    return Completeness(plan, table.select(COMPLETENESS_SCHEMA.names()), root)
