"""``load_with_archive``: serve what the archive holds as final, fetch only the rest."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Unpack

import polars as pl

from wsframes._config import Config, ConfigOverrides, configure
from wsframes.archive.manifest import MANIFEST_NAME, Manifest, intersect
from wsframes.archive.remote import remote_url, s3_read
from wsframes.archive.scan import scan_spans, window_days
from wsframes.archive.store import plan_key, resolve_archive
from wsframes.archive.sync import plan_gaps
from wsframes.timeutil import TimeLike, resolve_window, utc_now

__all__ = ["load_with_archive"]

log = logging.getLogger(__name__)


def load_with_archive(
    archive: str | os.PathLike[str] | None,
    start: TimeLike,
    end: TimeLike | None = None,
    *,
    plan_id: int | None = None,
    config: Config | None = None,
    storage_options: Mapping[str, Any] | None = None,
    **settings: Unpack[ConfigOverrides],
) -> pl.DataFrame:
    """Every record of ``[start, end)``: final archived intervals from disk, the gaps from the API.

    The archive is only read (``sync`` is what writes it). Non-final (unsettled) archived data is
    re-fetched, so the result is as fresh as a direct load. Only the gaps are subject to the API's
    90-day floor: a gap older than that raises ConfigurationError before any request. The gaps
    are fetched with *config* and its overrides in *settings*, as for :func:`wsframes.load_activity`. An
    ``s3://bucket/prefix`` archive (*storage_options* as for :func:`wsframes.archive.sync`) is
    read through a verified local view of the days the window needs.
    """
    cfg = configure(config, settings)
    url = remote_url(archive, storage_options)
    plan = plan_key(plan_id, cfg.subuser)
    if url is not None:
        resolve_window(start, end, now=utc_now())  # bad input fails before any request
        with s3_read(url, storage_options, want=window_days(plan, start, end)) as view:
            return load_with_archive(view.root, start, end, plan_id=plan_id, config=cfg)
    root = resolve_archive(archive)
    now = utc_now()
    lo, hi = resolve_window(start, end, now=now)
    manifest = Manifest.load(root) if (root / MANIFEST_NAME).exists() else Manifest()
    gaps = plan_gaps(manifest, plan, (lo, hi), now=now)
    local = intersect((lo, hi), manifest.covered(plan, final_only=True))
    pieces = sorted([(a, b, True) for a, b in local] + [(a, b, False) for a, b in gaps])
    if not gaps:
        out = scan_spans(root, plan, local, manifest).collect()
        return _label_subuser(out, cfg.subuser)
    from wsframes.loader import Client

    log.info("serving %d span(s) of plan %s from %s, fetching %d gap(s)", len(local), plan, root, len(gaps))
    with Client(cfg) as client:
        frames = [
            scan_spans(root, plan, [(a, b)]).collect() if on_disk
            else client.activity(a, b, plan_id=plan_id).drop("subuser_id", strict=False)
            for a, b, on_disk in pieces
        ]
    out = pl.concat(frames)
    return _label_subuser(out, cfg.subuser)


def _label_subuser(frame: pl.DataFrame, subuser: int | None) -> pl.DataFrame:
    """Archived rows drop ``subuser_id`` (the partition says it): put it back for a sub-user."""
    return frame if subuser is None else frame.with_columns(pl.lit(subuser, pl.Int64).alias("subuser_id"))
