"""Dated snapshots of the proxy list in the archive, so history can be enriched with the pool as it was.

Layout (beside the activity dataset)::

    <root>/_proxy_snapshots/plan_id=<id or "default">/date=<YYYY-MM-DD>/proxies.parquet

The directory starts with ``_`` so Hive dataset readers (pyarrow, Spark) and the activity scans
never mistake snapshots for activity. One snapshot per plan and UTC day: saving again the same
day replaces it atomically (:mod:`wsframes._atomic`), so a reader sees the old one or the new one.
Snapshots hold :data:`~wsframes.schema.PROXY_SCHEMA` plus ``snapshot_at`` and never a password.

>>> import tempfile, polars as pl
>>> from datetime import datetime, timezone
>>> root = tempfile.mkdtemp()
>>> px = pl.DataFrame({"proxy_address": ["10.0.0.1"], "country_code": ["DE"]})
>>> _ = save_proxy_snapshot(root, px, taken_at=datetime(2026, 11, 1, tzinfo=timezone.utc))
>>> scan_proxy_snapshots(root).select("snapshot_at", "proxy_address", "country_code").rows()
[(datetime.datetime(2026, 11, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), '10.0.0.1', 'DE')]
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from wsframes._atomic import atomic_write
from wsframes.archive.store import plan_key, resolve_archive
from wsframes.errors import ArchiveError, ConfigurationError
from wsframes.schema import PROXY_SCHEMA

__all__ = ["SNAPSHOT_DIR", "save_proxy_snapshot", "scan_proxy_snapshots"]

SNAPSHOT_DIR = "_proxy_snapshots"
_FILE = "proxies.parquet"
_SCHEMA = pl.Schema({"snapshot_at": pl.Datetime("us", "UTC"), **PROXY_SCHEMA})


def _conform(proxies: pl.DataFrame, taken_at: datetime) -> pl.DataFrame:
    """The snapshot frame: PROXY_SCHEMA columns (missing ones null), never a password."""
    if "proxy_address" not in proxies.columns:
        raise ConfigurationError("save_proxy_snapshot() needs a proxy list (wsframes.load_proxies()).")
    cols = [pl.col(n).cast(t) if n in proxies.columns else pl.lit(None, dtype=t).alias(n)
            for n, t in PROXY_SCHEMA.items()]
    return proxies.select(pl.lit(taken_at).cast(_SCHEMA["snapshot_at"]).alias("snapshot_at"), *cols)


def save_proxy_snapshot(archive: str | os.PathLike[str] | None, proxies: pl.DataFrame, *,
                        taken_at: datetime | None = None, plan_id: int | None = None) -> Path:
    """Keep *proxies* (a :func:`wsframes.load_proxies` frame) as the plan's snapshot of its UTC day.

    Parameters
    ----------
    archive : the archive directory (default: ``$WSFRAMES_ARCHIVE`` or the user data dir).
    proxies : the list as loaded; any ``password`` column is not written.
    taken_at : when the list was read (aware; default now). Rows at or after it are enriched
        with this snapshot until a newer one.
    plan_id : the plan the list belongs to (``None``: the default plan).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    when = datetime.now(UTC) if taken_at is None else taken_at
    if when.tzinfo is None:
        raise ConfigurationError("taken_at must be an aware datetime (e.g. tzinfo=timezone.utc).")
    when = when.astimezone(UTC)
    frame = _conform(proxies, when)
    root = resolve_archive(archive)
    path = root / SNAPSHOT_DIR / f"plan_id={plan_key(plan_id)}" / f"date={when.date().isoformat()}" / _FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: frame.write_parquet(tmp, compression="zstd"))
    return path


def scan_proxy_snapshots(archive: str | os.PathLike[str] | None, *,
                         plan_id: int | None = None) -> pl.DataFrame:
    """Every snapshot of a plan, oldest first, with ``snapshot_at``: pass it to :func:`wsframes.enrich`.

    No snapshot yet gives an empty frame with the full schema.
    """
    root = resolve_archive(archive)
    files = sorted((root / SNAPSHOT_DIR / f"plan_id={plan_key(plan_id)}").glob(f"date=*/{_FILE}"))
    if not files:
        return pl.DataFrame(schema=_SCHEMA)
    try:
        frames = [pl.read_parquet(f) for f in files]
    except (OSError, pl.exceptions.ComputeError) as exc:
        raise ArchiveError(f"a proxy snapshot under {root / SNAPSHOT_DIR} is unreadable ({exc}); "
                           "delete it and save a new one.") from None
    return pl.concat(frames, how="vertical_relaxed").cast(_SCHEMA).sort("snapshot_at")
