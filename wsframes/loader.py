"""Load Webshare activity as a typed Polars frame: :class:`Client`.

:class:`Client` holds one keep-alive session, its rate limits and a small pool of worker
threads for repeated use; ``wsframes.load_activity`` makes one for a single load. It takes a
:class:`~wsframes.Config` (and keyword overrides of its fields). Every input is checked before
the first request, and a load returns every record of the half-open window ``[start, end)``
exactly once, ascending by time, or raises: see :mod:`wsframes._engine` for how a window is cut
into concurrent exact slices, and :mod:`wsframes.api.activity` for the cursor.

This module knows nothing of the archive: ``wsframes.load_activity(archive=...)`` dispatches
above both, in :mod:`wsframes._load`.

Example (against the embedded fake API)::

    from wsframes import Client
    with Client(base_url=fake.base_url, api_key=fake.api_key) as client:
        df = client.activity("24h", error_reason="*")
        hours = client.hourly_stats("24h")
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Unpack

import polars as pl

from wsframes._config import Config, ConfigOverrides, configure
from wsframes._engine import load_window
from wsframes._validate import check_plans
from wsframes.api.activity import ActivityFilters, to_micros, window_params
from wsframes.api.client import HttpClient
from wsframes.api.download import download_activity_csv, get_download_token
from wsframes.api.progress import Progress, check_progress
from wsframes.api.stats import get_aggregate_stats, get_hourly_stats
from wsframes.api.subuser import check_subuser_activity
from wsframes.errors import ConfigurationError
from wsframes.frames import hourly_stats_frame, parse_download_csv
from wsframes.timeutil import TimeLike, clamp_to_retention, resolve_window, utc_now

__all__ = ["Client"]

log = logging.getLogger("wsframes.loader")

_ONE_US = timedelta(microseconds=1)


class Client:
    """A reusable connection to the Webshare API.

    Parameters
    ----------
    config : Config, optional
        Every setting in one object (default ``Config()``: key and base URL from the
        environment, 240 requests a minute, 8 connections, pages of 1,000).
    **settings
        Overrides of *config*'s fields: ``api_key``, ``base_url``, ``timeout``,
        ``max_retries``, ``requests_per_minute``, ``rate_limits``, ``connections``,
        ``page_size``, ``progress``, ``backoff``, ``max_backoff``, ``max_retry_after``.

    Notes
    -----
    A client may be shared by threads: its connections, rate limits and workers are shared, so
    several loads at once still stay under the limit. Its ``repr`` never shows the key.
    """

    def __init__(self, config: Config | None = None, **settings: Unpack[ConfigOverrides]) -> None:
        self.config = configure(config, settings)
        self._http = HttpClient(self.config)
        self._account_http: HttpClient | None = None  # without X-Subuser, for the sub-user check
        self._workers: ThreadPoolExecutor | None = None
        self._workers_lock = threading.Lock()

    @property
    def page_size(self) -> int:
        """Records asked per activity page."""
        return self.config.page_size

    @property
    def progress(self) -> bool | None:
        """The default of the progress bar."""
        return self.config.progress

    @property
    def base_url(self) -> str:
        """The API origin requests go to."""
        return self._http.base_url

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far by this client (retries included)."""
        return self._http.request_count

    def __repr__(self) -> str:
        return (f"Client(base_url={self.base_url!r}, connections={self.config.connections}, "
                f"page_size={self.page_size}, api_key=***)")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the pooled connections and worker threads."""
        with self._workers_lock:
            if self._workers is not None:
                self._workers.shutdown(wait=True, cancel_futures=True)
                self._workers = None
        self._http.close()
        if self._account_http is not None:
            self._account_http.close()

    def _executor(self) -> ThreadPoolExecutor | None:
        """The client's worker threads, one per connection (started on first use)."""
        if self.config.connections <= 1:
            return None
        with self._workers_lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(self.config.connections,
                                                   thread_name_prefix="wsframes-load")
            return self._workers

    @staticmethod
    def _window(start: TimeLike, end: TimeLike | None) -> tuple[int, int, datetime, datetime]:
        """Resolve ``[start, end)`` against the API's 90-day floor; inclusive µs bounds.

        A start within a minute of the floor (``"90d"``) is moved just inside it: see
        :func:`wsframes.timeutil.clamp_to_retention`.
        """
        now = utc_now()
        lo, hi = resolve_window(start, end, now=now)
        requested, lo = lo, clamp_to_retention(lo, now=now)
        if lo >= hi:
            raise ConfigurationError(
                f"the window ends ({hi.isoformat()}) before the API's 90-day floor; read it from a "
                "local archive (wsframes.scan_activity) instead."
            )
        if lo != requested:
            log.info("start moved from %s to %s, just inside the API's 90-day floor",
                     requested.isoformat(), lo.isoformat())
        return to_micros(lo), to_micros(hi - _ONE_US), lo, hi

    def activity(
        self,
        start: TimeLike,
        end: TimeLike | None = None,
        *,
        plan_id: int | Sequence[int] | None = None,
        search: str | None = None,
        error_reason: str | None = None,
        min_bytes: int | None = None,
        max_bytes: int | None = None,
        verification_category: str | None = None,
        progress: bool | None = None,
    ) -> pl.DataFrame:
        """Every activity record in ``[start, end)``, ascending, typed as ``ACTIVITY_SCHEMA``.

        This is the exact-window primitive the archive builds on: one window, one plan, the whole
        truth or an exception (:class:`~wsframes.errors.IncompleteDataError` when exactness
        cannot be proven). An empty window gives an empty frame with the full schema. The
        frame holds one chunk per page, to avoid a copy (``df.rechunk()`` if you need one).

        Parameters
        ----------
        start, end : datetime, date or str
            Half-open window; ``end`` defaults to now. Strings: ISO 8601 or ``"90m"``, ``"7d"``.
        plan_id : int or sequence of int, optional
            The plan to read (default: the account's default plan). A list of plans (``[1, 2]``)
            loads each exactly and returns one frame with an ``Int64`` column ``plan_id``, so
            every helper can group by it (``by="plan_id"``); a one-element list adds the column
            for a single plan.
        search, error_reason, verification_category : str, optional
            API filters; ``error_reason="*"`` selects every failed request.
        min_bytes, max_bytes : int, optional
            Inclusive bounds on ``bytes``.
        progress : bool, optional
            Override the client's progress setting for this call.

        Notes
        -----
        With ``Config(subuser=...)`` the load is the sub-user's and the frame gains an ``Int64``
        column ``subuser_id``. The API does not document that activity honours ``X-Subuser``, so
        the answer is checked first (:mod:`wsframes.api.subuser`): a refusal raises
        :class:`~wsframes.errors.PermissionDeniedError`, an ignored header
        :class:`~wsframes.errors.APIError`; neither returns data.
        """
        plans = check_plans(plan_id)
        filters = ActivityFilters(
            plan_id=None if isinstance(plans, list) else plans, search=search, error_reason=error_reason,
            min_bytes=min_bytes, max_bytes=max_bytes, verification_category=verification_category,
        )
        if isinstance(plans, list):
            return self._plans(start, end, [replace(filters, plan_id=p) for p in plans], progress)
        return self._load(start, end, filters, progress)

    def _load(self, start: TimeLike, end: TimeLike | None, filters: ActivityFilters,
              progress: bool | None) -> pl.DataFrame:
        """:meth:`activity` for one plan, its filters checked."""
        shown = check_progress(progress)
        lo_us, hi_us, lo, hi = self._window(start, end)
        if self.config.subuser is not None:
            self._check_subuser(lo_us, hi_us, filters)
        bar = Progress(self.progress if shown is None else shown, "activity")
        try:
            df = load_window(self._http, self._executor(), lo_us=lo_us, hi_us=hi_us, filters=filters,
                             page_size=self.page_size, connections=self.config.connections,
                             on_rows=bar.add)
        finally:
            bar.close()
        log.info("loaded %d records for [%s, %s) in %d pages", df.height, lo.isoformat(),
                 hi.isoformat(), bar.pages)
        if self.config.subuser is not None:
            df = df.with_columns(pl.lit(self.config.subuser, pl.Int64).alias("subuser_id"))
        return df

    def _check_subuser(self, lo_us: int, hi_us: int, filters: ActivityFilters) -> None:
        """Refuse to load a sub-user's activity the API refused or ignored (see api.subuser)."""
        assert self.config.subuser is not None
        if self._account_http is None:
            self._account_http = HttpClient(self.config.replace(subuser=None), limits=self._http.limits)
        check_subuser_activity(self._http, self._account_http, self.config.subuser,
                               lo_us=lo_us, hi_us=hi_us, filters=filters)

    def _plans(self, start: TimeLike, end: TimeLike | None, plans: list[ActivityFilters],
               progress: bool | None) -> pl.DataFrame:
        """Several plans' filters, each plan loaded exactly, as one ascending frame with a
        ``plan_id`` column."""
        lo, hi = resolve_window(start, end, now=utc_now())  # one window for every plan
        frames = [self._load(lo, hi, f, progress).with_columns(pl.lit(f.plan_id, pl.Int64).alias("plan_id"))
                  for f in plans]
        return pl.concat(frames, how="vertical").sort("timestamp", maintain_order=True)

    def hourly_stats(self, start: TimeLike, end: TimeLike | None = None, *,
                     plan_id: int | None = None) -> pl.DataFrame:
        """Hourly usage for the hours in ``[start, end)`` as a typed frame, ascending.

        Columns: :data:`wsframes.frames.HOURLY_STATS_SCHEMA` (``requests_total`` per hour is what a
        complete activity pull of that hour adds up to). Hours without usage are absent.
        """
        ActivityFilters(plan_id=plan_id)
        lo_us, hi_us, _, _ = self._window(start, end)
        return hourly_stats_frame(get_hourly_stats(self._http, lo_us, hi_us, plan_id=plan_id))

    def aggregate_stats(self, start: TimeLike, end: TimeLike | None = None, *,
                        plan_id: int | None = None) -> dict[str, Any]:
        """The aggregate stats object for ``[start, end)``, as the API returns it."""
        ActivityFilters(plan_id=plan_id)
        lo_us, hi_us, _, _ = self._window(start, end)
        return get_aggregate_stats(self._http, lo_us, hi_us, plan_id=plan_id)

    def download_csv(
        self,
        start: TimeLike,
        end: TimeLike | None = None,
        *,
        plan_id: int | None = None,
        search: str | None = None,
        error_reason: str | None = None,
        min_bytes: int | None = None,
        max_bytes: int | None = None,
    ) -> pl.DataFrame:
        """The bulk CSV download for ``[start, end)`` as a typed frame (:data:`~wsframes.frames.CSV_SCHEMA`).

        Fetches a download token first; the token is never logged. The CSV lacks handshake and
        tunnel durations, domain, target IP and listen fields: prefer :meth:`activity`.
        """
        filters = ActivityFilters(plan_id=plan_id, search=search, error_reason=error_reason,
                                  min_bytes=min_bytes, max_bytes=max_bytes)
        lo_us, hi_us, _, _ = self._window(start, end)
        params: dict[str, str | int] = {**window_params(lo_us, hi_us), **filters.params()}
        if min_bytes is not None:
            params["bytes__gte"] = min_bytes
        if max_bytes is not None:
            params["bytes__lte"] = max_bytes
        token = get_download_token(self._http)
        return parse_download_csv(download_activity_csv(self._http, token, params))

