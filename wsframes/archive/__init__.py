"""The local archive: exact, crash-safe, Hive-partitioned Parquet history beyond the API's 90 days.

Public entry points: :func:`sync` (fetch what the archive lacks), :func:`scan_activity` (read it
lazily, offline), :func:`load_with_archive` (used by ``load_activity(archive=...)``),
:func:`archive_status` and :func:`check_completeness`.
"""

from __future__ import annotations

from wsframes.archive.completeness import Completeness, check_completeness
from wsframes.archive.load import load_with_archive
from wsframes.archive.scan import scan_activity
from wsframes.archive.status import ArchiveStatus, PlanStatus, archive_status
from wsframes.archive.store import default_archive
from wsframes.archive.sync import SyncResult, sync

__all__ = [
    "ArchiveStatus",
    "Completeness",
    "PlanStatus",
    "SyncResult",
    "archive_status",
    "check_completeness",
    "default_archive",
    "load_with_archive",
    "scan_activity",
    "sync",
]
