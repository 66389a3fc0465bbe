"""The archive: exact, crash-safe, Hive-partitioned Parquet history beyond the API's 90 days.

Public entry points: :func:`sync` (fetch what the archive lacks), :func:`scan_activity` (read it
lazily, offline), :func:`load_with_archive` (used by ``load_activity(archive=...)``),
:func:`archive_status` and :func:`check_completeness`. Typical use::

    import wsframes as wsf
    wsf.sync("~/ws-archive", start="90d")            # weekly cron: only new hours are fetched
    lf = wsf.scan_activity("~/ws-archive", "30d")               # offline; any covered window
    wsf.latency_summary(lf).collect(engine="streaming")

The archive is a plain dataset (``plan_id=<id>/date=<YYYY-MM-DD>/activity.parquet``, zstd) that
DuckDB, pyarrow and Spark read as is; they do not consult the manifest, so they also see the
unsettled last hours (re-read by the next sync) and, after a sync was killed, records of the
interrupted day beyond the recorded coverage (real records, never duplicates) until the next sync.

Every day file's SHA-256 is in the manifest and checked before its data is used: a damaged file
(a flipped bit, a full disk, an interrupted copy) is listed by ``wsframes status`` with the command
that repairs it, scans raise DamagedFileError naming it, and the next sync whose window holds it
fetches the day again. :func:`export_archive` / :func:`verify_archive` make and prove backups.

Every entry point above also takes an ``s3://bucket/prefix`` location (with ``storage_options``,
or the usual ``AWS_*`` settings; the optional extra ``wsframes[s3]``): a team's shared archive on
S3 or an S3-compatible store, crash-safe and safe against concurrent syncs without a rename
(whole-object PUTs, the manifest last, a leased lock object and conditional writes; see
:mod:`wsframes.archive.remote`).
"""

from __future__ import annotations

from wsframes.archive.backup import ExportResult, VerifyResult, accept_loss, export_archive, verify_archive
from wsframes.archive.completeness import Completeness, check_completeness
from wsframes.archive.load import load_with_archive
from wsframes.archive.scan import scan_activity
from wsframes.archive.status import ArchiveStatus, PlanStatus, archive_status
from wsframes.archive.store import default_archive
from wsframes.archive.sync import SyncResult, sync

__all__ = [
    "ArchiveStatus",
    "Completeness",
    "ExportResult",
    "PlanStatus",
    "SyncResult",
    "VerifyResult",
    "accept_loss",
    "archive_status",
    "check_completeness",
    "default_archive",
    "export_archive",
    "load_with_archive",
    "scan_activity",
    "sync",
    "verify_archive",
]
