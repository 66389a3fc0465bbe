"""``sync``: bring the archive up to date, fetching only what it lacks plus the unsettled tail."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from tqdm.auto import tqdm

from wsframes._config import Config, ConfigOverrides, configure
from wsframes.archive.completeness import stats_floor
from wsframes.archive.integrity import DamagedDay, damaged_days, raise_if_damaged, refetchable
from wsframes.archive.manifest import Manifest, Span, coalesce, subtract
from wsframes.archive.remote import relabel, remote_url, s3_write
from wsframes.archive.store import (
    DEFAULT_PLAN,
    archive_lock,
    day_span,
    days_touching,
    plan_key,
    remove_temp_files,
    replace_range,
    resolve_archive,
    stored_plans,
)
from wsframes.archive.upgrade import Upgrade, upgrade_manifest
from wsframes.errors import ConfigurationError
from wsframes.timeutil import (
    RETENTION_SLACK,
    TimeLike,
    clamp_to_retention,
    parse_duration,
    resolve_window,
    retention_floor,
    utc_now,
)

if TYPE_CHECKING:
    from wsframes.loader import Client

__all__ = ["DEFAULT_SETTLE", "SyncResult", "sync"]

log = logging.getLogger(__name__)

#: How long after the fact records may still reach the API; newer intervals stay non-final.
DEFAULT_SETTLE = timedelta(hours=2)


@dataclass(frozen=True)
class SyncResult:
    """What one sync did."""

    archive: Path | str  # the s3:// URL for an archive on S3
    plan: str
    fetched: list[Span] = field(default_factory=list)
    rows_fetched: int = 0
    repaired: list[date] = field(default_factory=list)  # damaged day files fetched again whole
    upgraded: str = ""  # what upgrading a version 1 archive to checksums did ("" when it had them)

    def __str__(self) -> str:
        note = f"\n{self.upgraded}" if self.upgraded else ""
        if not self.fetched:
            return f"archive {self.archive} (plan {self.plan}) was already up to date{note}"
        repaired = (f"; repaired damaged day file(s) {', '.join(map(str, self.repaired))}"
                    if self.repaired else "")
        return (
            f"archive {self.archive} (plan {self.plan}): fetched {self.rows_fetched} records in "
            f"{len(self.fetched)} chunk(s) from {self.fetched[0][0].isoformat()} "
            f"to {self.fetched[-1][1].isoformat()}{repaired}{note}"
        )


def _settle(value: timedelta | str) -> timedelta:
    delta = parse_duration(value) if isinstance(value, str) else value
    if not isinstance(delta, timedelta) or delta < timedelta(0):
        raise ConfigurationError(
            f"settle must be a non-negative duration such as '2h' or a timedelta, not {value!r}."
        )
    return delta


def day_chunks(gaps: list[Span]) -> list[Span]:
    """Split gaps at UTC midnights: each chunk is one request series and one recorded step."""
    chunks: list[Span] = []
    for a, b in gaps:
        for day in days_touching(a, b):
            lo, hi = day_span(day)
            chunks.append((max(a, lo), min(b, hi)))
    return chunks


def plan_gaps(
    manifest: Manifest, plan: str, window: Span, *, now: datetime, clamp: bool = False,
    refetch: bool = False,
) -> list[Span]:
    """What must come from the API for *window*: everything not covered by a final interval.

    Raises ConfigurationError, before any request, when part of it is older than the API keeps.
    With *refetch*, the whole window is fetched again. With *clamp* (sync), a gap starting less
    than :data:`~wsframes.timeutil.RETENTION_SLACK` before the 90-day floor is shortened to start
    just after it instead (:func:`~wsframes.timeutil.clamp_to_retention`): ``start="90d"`` means
    "all the API still has", and records that leave the API within the minute cannot be fetched
    reliably anyway. Without *clamp* (a load through the archive) the window is never trimmed.
    """
    gaps = subtract(window, [] if refetch else manifest.covered(plan, final_only=True))
    floor = retention_floor(now)
    lost = [g for g in gaps if g[0] < (floor - RETENTION_SLACK if clamp else floor)]
    if lost:
        raise ConfigurationError(
            f"the archive lacks {lost[0][0].isoformat()} .. {lost[0][1].isoformat()}, which is more "
            f"than 90 days ago: the Webshare API no longer serves it. Use a start after "
            f"{floor.isoformat(timespec='seconds')}."
        )
    if clamp:
        gaps = [(clamp_to_retention(a, now=now), b) for a, b in gaps]
    return [(a, b) for a, b in gaps if a < b]


def repair_spans(root: Path, damaged: list[DamagedDay], *, now: datetime) -> list[Span]:
    """The whole UTC days to fetch again in place of damaged day files (none of their rows can be
    kept); raises ArchiveError, before any request, for a day the API no longer fully serves."""
    lost = [d for d in damaged if not refetchable(d.day, now=now)]
    raise_if_damaged(root, lost, now=now)
    for d in damaged:
        log.warning("day file %s is damaged (%s); fetching the day again", d.path, d.problem)
    return [(lo, min(hi, now)) for lo, hi in (day_span(d.day) for d in damaged)]


def refuse_mixed_plan_forms(root: Path, plan: str, held: list[str]) -> None:
    """Refuse to store the default plan and numbered plans side by side in one archive.

    ``plan_id=None`` is stored as ``plan_id=default`` because the API does not say which plan that
    is. Were the same plan also synced by its id, it would sit in the archive twice, and every
    reader that globs the whole dataset (DuckDB, Spark, pyarrow) would count its records twice.
    """
    other = [p for p in held if (p == DEFAULT_PLAN) != (plan == DEFAULT_PLAN)]
    if not other:
        return
    if plan == DEFAULT_PLAN:
        raise ConfigurationError(
            f"the archive {root} holds plans by id ({', '.join(other)}); syncing the account's "
            f"default plan without an id could store one of them a second time (as "
            f"plan_id=default) and double-count it. Pass its plan id (--plan-id), or use another "
            f"archive directory."
        )
    raise ConfigurationError(
        f"the archive {root} holds the account's default plan (plan_id=default, synced without a "
        f"plan id); syncing plan {plan} by id could store the same plan a second time and "
        f"double-count it. Keep syncing without a plan id, or use another archive directory "
        f"(one per form)."
    )


def sync(
    archive: str | os.PathLike[str] | None = None,
    *,
    start: TimeLike = "90d",
    end: TimeLike | None = None,
    plan_id: int | None = None,
    settle: timedelta | str = DEFAULT_SETTLE,
    lock_timeout: float = 60.0,
    refetch: bool = False,
    config: Config | None = None,
    storage_options: Mapping[str, Any] | None = None,
    **settings: Unpack[ConfigOverrides],
) -> SyncResult:
    """Fetch what the archive lacks in ``[start, end)`` and store it, exactly and crash-safely.

    Parameters
    ----------
    archive
        Archive directory (created if needed); default ``$WSFRAMES_ARCHIVE``, else
        ``platformdirs.user_data_dir("wsframes")/archive``.
    start, end
        Half-open window; ``end`` defaults to now (and is capped at now).
    plan_id
        Plan to archive; ``None``: the account's default plan (stored as ``plan_id=default``).
        One archive holds either the default plan or plans by id, never both (ConfigurationError,
        before any request): the same plan stored under both names would be counted twice by
        whole-dataset readers.
    config, **settings
        HTTP settings (a :class:`wsframes.Config` and overrides of its fields: ``api_key``,
        ``base_url``, ``requests_per_minute``...), as for :func:`wsframes.load_activity`. Its
        ``progress`` is the bar over day chunks (``None``: in terminals and notebooks only).
    settle
        How long records may take to reach the API. Data newer than ``fetch time - settle`` is
        stored but not final: the next sync re-reads and replaces it.
    lock_timeout
        Seconds to wait for another sync of the same archive before raising ArchiveError.
    storage_options
        For an ``s3://bucket/prefix`` archive: ``endpoint_url``, ``aws_access_key_id``,
        ``aws_secret_access_key``, ``aws_session_token``, ``region_name`` (default: the usual
        ``AWS_*`` settings). See :mod:`wsframes.archive.remote` for how it stays crash-safe.
    refetch
        Fetch the whole window again, final intervals included, and replace it exactly: the
        repair for hours :func:`check_completeness` reports (records later than the settle delay).
        Damaged day files (failing their checksum: see ``wsframes status``) in the window are
        always fetched again whole, with or without *refetch*, and their new checksums recorded;
        one older than the API keeps raises DamagedFileError. An archive written before checksums
        is upgraded first (see :mod:`wsframes.archive.upgrade`; the result says so).

    Returns
    -------
    SyncResult
        The chunks fetched and how many records they held.
    """
    from wsframes.loader import Client

    cfg = configure(config, settings)
    url = remote_url(archive, storage_options)
    plan = plan_key(plan_id, cfg.subuser)
    settle_delta = _settle(settle)
    if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, int | float) or lock_timeout < 0:
        raise ConfigurationError(f"lock_timeout must be a number of seconds >= 0, not {lock_timeout!r}.")
    lo, hi = _window(start, end, now=utc_now())  # bad input fails now, not after waiting for the lock
    if url is not None:
        # Sync a local view of the S3 archive under its lease; every write there is published.
        # Only the days of the window are downloaded (a margin for the clock moving on), except
        # that upgrading an archive to checksums needs all of them.
        days = set(days_touching(lo - timedelta(days=1), hi + timedelta(days=1)))
        with s3_write(url, storage_options, lock_timeout=lock_timeout,
                      want=lambda m: days if m.checksummed else None) as view:
            result = sync(view.root, start=start, end=end, plan_id=plan_id, settle=settle,
                          lock_timeout=lock_timeout, refetch=refetch, config=cfg)
            return relabel(result, view.root, url)
    root = resolve_archive(archive)
    client = Client(cfg, progress=False)  # the bar here counts days; none per chunk
    root.mkdir(parents=True, exist_ok=True)
    with client, archive_lock(root, timeout=lock_timeout):
        # The clock is read only once the lock is held: a relative start such as "90d" resolved
        # before a long wait would point below the API's floor by the time the requests go out.
        now = utc_now()
        lo, hi = _window(start, end, now=now)
        remove_temp_files(root)
        manifest = Manifest.load(root)
        refuse_mixed_plan_forms(root, plan, sorted(set(manifest.plans) | set(stored_plans(root))))
        upgraded = _upgrade(root, manifest, plan, client, plan_id=plan_id, now=now)
        damaged = damaged_days(root, plan, days_touching(lo, hi), manifest)
        damaged += [d for d in (upgraded.damaged if upgraded else []) if d.plan == plan
                    and d.day not in {x.day for x in damaged} and refetchable(d.day, now=now)]
        gaps = plan_gaps(manifest, plan, (lo, hi), now=now, clamp=True, refetch=refetch)
        chunks = day_chunks(coalesce(gaps + repair_spans(root, damaged, now=now)))
        unreadable = {d.day for d in damaged}
        rows = 0
        for a, b in tqdm(chunks, desc="sync", unit="day", disable=_quiet(cfg.progress)):
            frame = client.activity(a, b, plan_id=plan_id).drop("subuser_id", strict=False)  # the key says
            replace_range(root, plan, a, b, frame, keep=manifest.covered(plan), unreadable=unreadable,
                          manifest=manifest)
            # The manifest is written last: until then the new rows are invisible to scans.
            manifest.record(plan, a, b, fetched_at=now, settle=settle_delta)
            manifest.save(root)
            rows += frame.height
            log.info("archived %d records of plan %s for %s .. %s", frame.height, plan, a, b)
    return SyncResult(root, plan, chunks, rows, sorted(unreadable), str(upgraded or ""))


def _upgrade(root: Path, manifest: Manifest, plan: str, client: Client, *, plan_id: int | None,
             now: datetime) -> Upgrade | None:
    """Give a version 1 archive its checksums (see :mod:`wsframes.archive.upgrade`), once."""
    if manifest.checksummed:
        return None
    stats = None
    if manifest.covered(plan):
        # One request: the hourly counts that the archived hours the API still counts must match.
        stats = client.hourly_stats(stats_floor(now), now, plan_id=plan_id)
    result = upgrade_manifest(root, manifest, plan=plan, stats=stats, now=now)
    manifest.save(root)
    return result


def _window(start: TimeLike, end: TimeLike | None, *, now: datetime) -> Span:
    lo, hi = resolve_window(start, end, now=now)
    hi = min(hi, now)
    if lo >= hi:
        raise ConfigurationError(f"start {lo.isoformat()} is in the future; nothing to sync.")
    return lo, hi


def _quiet(progress: bool | None) -> bool | None:
    # tqdm: disable=None hides the bar when stderr is not a terminal.
    return None if progress is None else not progress
