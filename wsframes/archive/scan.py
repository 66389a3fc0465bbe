"""Reading the archive: lazily, offline, only the day partitions a window needs."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from wsframes._validate import check_plans
from wsframes.archive.integrity import damaged_days, raise_if_damaged
from wsframes.archive.manifest import MANIFEST_NAME, Manifest, Span, intersect, subtract
from wsframes.archive.remote import remote_url, s3_read
from wsframes.archive.store import day_path, days_touching, plan_key, resolve_archive
from wsframes.errors import ArchiveError, IncompleteDataError, WsframesError
from wsframes.schema import ACTIVITY_SCHEMA
from wsframes.timeutil import TimeLike, resolve_window, utc_now

__all__ = ["archive_files", "scan_activity", "window_days"]


def _fmt(span: Span) -> str:
    return f"[{span[0].isoformat()}, {span[1].isoformat()})"


def archive_files(root: Path, plan: str, spans: Sequence[Span]) -> list[str]:
    """The existing day files that the spans touch (the only files a scan opens)."""
    days = sorted({d for a, b in spans for d in days_touching(a, b)})
    paths = (day_path(root, plan, d) for d in days)
    return [str(p) for p in paths if p.exists()]


def window_days(
    plan: str, start: TimeLike | None, end: TimeLike | None
) -> Callable[[Manifest], Collection[date] | None]:
    """Which days a read of ``[start, end)`` needs, given the manifest (None: all of them); only
    these are downloaded from an S3 archive."""
    def pick(manifest: Manifest) -> Collection[date] | None:
        covered = manifest.covered(plan)
        if not covered:
            return set()
        try:
            lo, hi = resolve_window(covered[0][0] if start is None else start,
                                    covered[-1][1] if end is None else end)
        except WsframesError:
            return None  # the read itself raises the clear error
        return set(days_touching(lo, hi))
    return pick


def scan_spans(
    root: Path, plan: str, spans: Sequence[Span], manifest: Manifest | None = None
) -> pl.LazyFrame:
    """Rows of the given covered spans, ascending, with the activity schema.

    Every day file it needs is verified against the manifest's checksum first, so a damaged file
    raises DamagedFileError naming it and its repair, never wrong values or an engine panic at
    collect() time.
    """
    days = sorted({d for a, b in spans for d in days_touching(a, b)})
    raise_if_damaged(root, damaged_days(root, plan, days, manifest), now=utc_now())
    files = archive_files(root, plan, spans)
    if not files:
        return pl.DataFrame(schema=ACTIVITY_SCHEMA).lazy()
    ts = pl.col("timestamp")
    keep = pl.any_horizontal([(ts >= a) & (ts < b) for a, b in spans])
    return pl.scan_parquet(files, hive_partitioning=False, schema=ACTIVITY_SCHEMA).filter(keep)


def scan_activity(
    archive: str | os.PathLike[str] | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    *,
    plan_id: int | Sequence[int] | None = None,
    allow_gaps: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    subuser: int | None = None,
) -> pl.LazyFrame:
    """Activity from a local archive as a LazyFrame, without touching the network.

    Parameters
    ----------
    archive
        The archive directory (default: ``$WSFRAMES_ARCHIVE`` or the per-user data directory), or
        an ``s3://bucket/prefix`` URL: the day objects the window needs are downloaded (cached
        by ETag) and verified against the manifest like local files.
    start, end
        Half-open window ``[start, end)``: datetimes, dates, ISO strings or ``"7d"``-style
        relative times. ``None`` means the start (end) of what the archive covers.
    plan_id
        The plan to read; ``None`` reads what ``sync(plan_id=None)`` stored (the default plan).
        A list of plans (``[1, 2]``) reads each (each must cover the window) into one frame with
        an ``Int64`` column ``plan_id``, ascending by time.
    storage_options
        S3 settings (see :func:`wsframes.archive.sync`); default: the usual ``AWS_*`` settings.
    allow_gaps
        By default a window the archive does not fully cover raises
        :class:`~wsframes.errors.IncompleteDataError` naming the gaps (never a silent partial
        result); ``True`` returns the covered part only.
    subuser
        Read what ``sync(config=Config(subuser=...))`` stored for that sub-user (partition
        ``plan_id=<plan>-subuser<id>``); the frame gets an ``Int64`` column ``subuser_id``.

    Returns
    -------
    polars.LazyFrame
        Same columns and dtypes as ``load_activity`` (ACTIVITY_SCHEMA: Categoricals, UTC),
        timestamps ascending. Only the day files touching the window are opened.

    Raises
    ------
    DamagedFileError
        When a day file the window needs fails its checksum (every file is verified up front,
        before any data is used): the message names the file and the command that repairs it.
    IncompleteDataError
        When the archive does not cover the window (unless *allow_gaps*); the message names the
        range the archive covers.
    """
    plan_id = check_plans(plan_id)
    if isinstance(plan_id, list):  # several plans: one scan each, labelled
        scans = [scan_activity(archive, start, end, plan_id=p, allow_gaps=allow_gaps, subuser=subuser,
                              storage_options=storage_options)
                 .with_columns(pl.lit(p, pl.Int64).alias("plan_id")) for p in plan_id]
        return pl.concat(scans, how="vertical").sort("timestamp", maintain_order=True)
    url = remote_url(archive, storage_options)
    if url is not None:
        with s3_read(url, storage_options, want=window_days(plan_key(plan_id, subuser), start, end)) as view:
            return scan_activity(view.root, start, end, plan_id=plan_id, allow_gaps=allow_gaps,
                                 subuser=subuser)
    root = resolve_archive(archive)
    if not (root / MANIFEST_NAME).exists():
        raise ArchiveError(
            f"{root} is not a wsframes archive yet (no {MANIFEST_NAME}); "
            f"create it with `wsframes sync --archive {root}`."
        )
    plan = plan_key(plan_id, subuser)
    manifest = Manifest.load(root)
    covered = manifest.covered(plan)
    if not covered:
        held = ", ".join(sorted(manifest.plans)) or "none"
        raise ArchiveError(
            f"the archive {root} holds nothing for plan {plan} (plans it holds: {held}); pass "
            f"plan_id=... or sync that plan first."
        )
    lo, hi = resolve_window(
        covered[0][0] if start is None else start, covered[-1][1] if end is None else end
    )
    gaps = subtract((lo, hi), covered)
    if gaps and not allow_gaps:
        raise IncompleteDataError(
            f"the archive {root} does not cover plan {plan} for "
            + ", ".join(_fmt(g) for g in gaps[:5])
            + (f" and {len(gaps) - 5} more gaps" if len(gaps) > 5 else "")
            + f"; it covers {', '.join(_fmt(c) for c in covered[:3])}"
            + (f" and {len(covered) - 3} more spans" if len(covered) > 3 else "")
            + ". Scan within that range (or omit start/end for all of it), run `wsframes sync` over "
            "the window (the API serves the last 90 days), or pass allow_gaps=True for the covered part."
        )
    out = scan_spans(root, plan, intersect((lo, hi), covered), manifest)
    return out if subuser is None else out.with_columns(pl.lit(subuser, pl.Int64).alias("subuser_id"))

