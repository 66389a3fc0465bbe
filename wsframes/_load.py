"""``wsframes.load_activity``: one load entry point, routed to the API or to an archive.

Without ``archive=`` the window comes from the API (:meth:`wsframes.loader.Client.activity`);
with it, final archived intervals come from disk and only the rest is fetched
(:func:`wsframes.archive.load.load_with_archive`). The archive stack is imported only on that
route, so the loader knows nothing of the archive and ``import wsframes`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Unpack

import polars as pl

from wsframes._config import Config, ConfigOverrides, configure
from wsframes._validate import check_plans
from wsframes.errors import ConfigurationError
from wsframes.loader import Client
from wsframes.timeutil import TimeLike

__all__ = ["load_activity"]


def load_activity(
    start: TimeLike,
    end: TimeLike | None = None,
    *,
    archive: str | os.PathLike[str] | None = None,
    config: Config | None = None,
    plan_id: int | Sequence[int] | None = None,
    search: str | None = None,
    error_reason: str | None = None,
    min_bytes: int | None = None,
    max_bytes: int | None = None,
    verification_category: str | None = None,
    **settings: Unpack[ConfigOverrides],
) -> pl.DataFrame:
    """Load every activity record in ``[start, end)`` as a typed, ascending Polars frame.

    Without *archive*: a one-shot :meth:`Client.activity <wsframes.loader.Client.activity>` (see
    there for *plan_id* and the filters). With ``archive=`` (a path or ``s3://bucket/prefix``),
    final archived intervals are read from it and only the rest is fetched, with the same
    settings; this also serves history older than the API's 90 days. The archive stores whole
    windows of one plan, so the filters and a list of plans cannot be combined with it.
    *config* and *settings* are as for :class:`~wsframes.loader.Client` (e.g.
    ``requests_per_minute=None`` against a local server).
    """
    cfg = configure(config, settings)  # unknown or bad settings fail here, on both routes
    if archive is None:
        with Client(cfg) as client:
            return client.activity(start, end, plan_id=plan_id, search=search, error_reason=error_reason,
                                   min_bytes=min_bytes, max_bytes=max_bytes,
                                   verification_category=verification_category)
    filters = {"search": search, "error_reason": error_reason, "min_bytes": min_bytes,
               "max_bytes": max_bytes, "verification_category": verification_category}
    from wsframes.archive.load import load_with_archive

    return load_with_archive(archive, start, end, plan_id=_one_plan(plan_id, filters), config=cfg)


def _one_plan(plan_id: int | Sequence[int] | None, filters: Mapping[str, object]) -> int | None:
    """The plan an archive load reads, or a ConfigurationError naming what cannot go with it."""
    given = [name for name, value in filters.items() if value is not None]
    plans = check_plans(plan_id)
    if isinstance(plans, list):
        given.append("a list of plan_id")  # scan_activity(plan_id=[...]) reads several plans
    elif not given:
        return plans
    raise ConfigurationError(
        f"{', '.join(given)} cannot be combined with archive=...: the archive stores whole "
        "windows. Load with archive= and filter the frame, or drop archive=."
    )
