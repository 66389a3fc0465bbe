"""Cheap integrity checks of day files: their Parquet footers, without reading any data.

A day file cut short (a full disk, a copy interrupted, a backup restored half-way) loses its footer
first, because Parquet writes it last. Reading the footer of every file a command needs costs a
few kilobytes per day, so status, scans and syncs check up front and name the damaged day and its
repair instead of failing deep inside a Polars query with "magic bytes not found".
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from wsframes.archive.store import DEFAULT_PLAN, day_path, day_span
from wsframes.errors import ArchiveError
from wsframes.schema import ACTIVITY_SCHEMA
from wsframes.timeutil import API_RETENTION

__all__ = ["FLOOR_MARGIN", "DamagedDay", "damaged_days", "file_problem", "raise_if_damaged", "refetchable"]

#: Tolerance at the API's 90-day floor (clock skew between us and the API, request latency).
FLOOR_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class DamagedDay:
    """A day file that cannot be read, and why."""

    plan: str
    day: date
    path: Path
    problem: str

    def describe(self, root: Path, *, now: datetime) -> str:
        """What is wrong and how to repair it (or that only a backup can)."""
        lo, hi = day_span(self.day)
        head = f"archive file {self.path} is damaged ({self.problem})"
        if refetchable(self.day, now=now):
            plan = "" if self.plan == DEFAULT_PLAN else f" --plan-id {self.plan}"
            return (f"{head}; repair it from the API: wsframes sync --archive {root}{plan} --refetch "
                    f"--start {lo:%Y-%m-%d} --end {hi:%Y-%m-%d}")
        return (f"{head}; the API no longer serves {self.day} (it keeps 90 days), so its records are "
                f"lost unless you restore this file from a backup (or delete it to accept the loss: "
                f"the archive then holds no records for that day)")


def refetchable(day: date, *, now: datetime) -> bool:
    """True when the API still serves the whole UTC *day* (the repair refetches it entirely)."""
    return day_span(day)[0] >= now - API_RETENTION + FLOOR_MARGIN


def file_problem(path: Path, day: date | None = None) -> str | None:
    """Why the day file at *path* cannot be read, or None when its footer is sound.

    Reads only the footer: magic bytes and metadata, the activity columns, a row count that the
    row groups add up to, column chunks that lie inside the file and, given its *day*, timestamp
    statistics inside that UTC day (a file copied into the wrong partition).
    """
    try:
        meta = pq.read_metadata(path)
        size = os.path.getsize(path)
    except (OSError, pa.ArrowException) as exc:
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


def _outside_day(meta: pq.FileMetaData, day: date) -> str | None:
    lo, hi = day_span(day)
    column = meta.schema.names.index("timestamp")
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(column).statistics
        if stats is not None and stats.has_min_max and not (lo <= stats.min and stats.max < hi):
            return f"holds timestamps {stats.min} .. {stats.max}, outside its day {day}"
    return None


def damaged_days(root: Path, plan: str, days: Iterable[date]) -> list[DamagedDay]:
    """The existing day files of *plan* among *days* whose footer is unsound (absent files are
    days without records)."""
    out = []
    for day in sorted(set(days)):
        path = day_path(root, plan, day)
        if path.exists() and (problem := file_problem(path, day)) is not None:
            out.append(DamagedDay(plan, day, path, problem))
    return out


def raise_if_damaged(root: Path, damaged: list[DamagedDay], *, now: datetime) -> None:
    """Raise ArchiveError naming every damaged file and its repair."""
    if damaged:
        lines = [d.describe(root, now=now) for d in damaged[:5]]
        more = f"\n... and {len(damaged) - 5} more damaged day files" if len(damaged) > 5 else ""
        raise ArchiveError("\n".join(lines) + more)
