"""Load Webshare activity as a typed Polars frame: :func:`load_activity` and :class:`Client`.

:class:`Client` holds one keep-alive session, pacing and retry settings for repeated use;
:func:`load_activity` is a thin wrapper that makes one for a single load. Every input is checked
before the first request, and a load returns every record of the half-open window
``[start, end)`` exactly once, ascending by time, or raises (see :mod:`wsframes.api.activity`).

Example (against the embedded fake API)::

    from wsframes import Client
    with Client(base_url=fake.base_url, api_key=fake.api_key) as client:
        df = client.activity("24h", error_reason="*")
        hours = client.hourly_stats("24h")
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import polars as pl

from wsframes.api.activity import (
    ActivityCursor,
    ActivityFilters,
    PageInfo,
    scan_page,
    to_micros,
    window_params,
)
from wsframes.api.client import HttpClient
from wsframes.api.download import download_activity_csv, get_download_token
from wsframes.api.progress import Progress, check_progress
from wsframes.api.stats import get_aggregate_stats, get_hourly_stats
from wsframes.errors import ConfigurationError, IncompleteDataError, TransportError
from wsframes.frames import (
    assemble_pages,
    hourly_stats_frame,
    parse_activity_page,
    parse_download_csv,
)
from wsframes.timeutil import TimeLike, clamp_to_retention, resolve_window, utc_now

__all__ = ["Client", "load_activity"]

log = logging.getLogger("wsframes.loader")

_ONE_US = timedelta(microseconds=1)
MAX_PAGE_SIZE = 100_000


def page_info(count: int, page: pl.DataFrame) -> PageInfo:
    """Summarise a decoded page, already reversed to ascending, for the cursor.

    See :class:`wsframes.api.activity.PageInfo`: the API's order is newest first, so that is
    what ``descending`` is about (here: the reversed page must be ascending).
    """
    if page.height == 0:
        return PageInfo(count=count, size=0)
    micros = page["timestamp"].to_physical()
    oldest = int(micros[0])
    run = int((micros == oldest).sum())
    # A bytes value to split a page-sized tie group on (only needed for such a group).
    pivot = page["bytes"].median() if run == page.height else None
    return PageInfo(
        count=count,
        size=page.height,
        newest_us=int(micros[-1]),
        oldest_us=oldest,
        oldest_run=run,
        descending=bool(micros.is_sorted()),
        bytes_pivot=None if pivot is None else int(pivot),  # type: ignore[arg-type]
    )


def decode_activity_page(body: bytes) -> tuple[PageInfo, pl.DataFrame]:
    """Decode a whole page now: its summary for the cursor, and its records ascending."""
    count, page = parse_activity_page(body, reverse=True)
    return page_info(count, page), page


def _parse_checked(body: bytes, scanned: PageInfo) -> pl.DataFrame:
    """Parse a scanned page, confirm everything the scan told the cursor, return it ascending."""
    info, frame = decode_activity_page(body)
    same = (info.count, info.size, info.newest_us, info.oldest_us, info.oldest_run) == (
        scanned.count, scanned.size, scanned.newest_us, scanned.oldest_us, scanned.oldest_run)
    if not (same and info.descending):
        raise IncompleteDataError(
            "Cannot guarantee an exact load: a page's records disagree with its envelope scan "
            "(or are not newest first); nothing was returned."
        )
    return frame


_PARSER: ThreadPoolExecutor | None = None
_PARSER_LOCK = threading.Lock()


def _parser() -> ThreadPoolExecutor:
    """The process-wide page-parsing thread, started on first use and reused by every load.

    One long-lived thread (rather than one per load) keeps reusing the same allocator arena,
    so repeated loads don't grow memory, and loads in several threads share it safely.
    """
    global _PARSER
    with _PARSER_LOCK:
        if _PARSER is None:
            _PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wsframes-parse")
        return _PARSER


class _PagePipeline:
    """Parses each page on a worker thread while the next page is being fetched.

    The cursor needs only a page's envelope, its size and its oldest timestamps to ask for the
    next page; :func:`~wsframes.api.activity.scan_page` reads those from the bytes (~0.1 ms for
    1,000 records), and the page is parsed meanwhile on :func:`_parser`'s thread (the JSON read,
    most of the ~1.1 ms, releases the GIL), then checked against the scan. Even on a 2-core box
    that also runs the fake server this pays while a core is free: 51 pages in 71-74 ms against
    106-108 ms parsed on the calling thread (when other work saturates both cores the thread
    hand-offs cost more than they hide: 152 vs 126 ms). At most one parse per load is in
    flight, so no more than two raw bodies are alive at a time. Pages the scan cannot read are
    parsed at once, on the calling thread.
    """

    in_flight = 1

    def __init__(self) -> None:
        self._pool = _parser()
        self._pending: deque[tuple[Future[pl.DataFrame], int]] = deque()
        self.pages: list[tuple[pl.DataFrame, int]] = []

    def decode(self, body: bytes) -> tuple[PageInfo, Future[pl.DataFrame]]:
        """The cursor's decoder: runs inside the HTTP retry loop (ValueError = retry).

        The future holds the page's records ascending (the API sends them newest first).
        """
        scanned = scan_page(body)
        if scanned is None:
            info, frame = decode_activity_page(body)
            done: Future[pl.DataFrame] = Future()
            done.set_result(frame)
            return info, done
        return scanned, self._pool.submit(_parse_checked, body, scanned)

    def keep(self, parsed: Future[pl.DataFrame], keep: int) -> None:
        """Keep the *keep* newest records of a page; settle all but the latest pages."""
        self._pending.append((parsed, keep))
        while len(self._pending) > self.in_flight:
            self._settle()

    def _settle(self) -> None:
        parsed, keep = self._pending.popleft()
        try:
            frame = parsed.result()
        except ValueError as exc:  # the envelope was fine, the records were not
            raise TransportError(f"Invalid activity records in a response: {exc}") from None
        if keep:
            self.pages.append((frame, keep))

    def result(self) -> pl.DataFrame:
        while self._pending:
            self._settle()
        # The newest records are the last ones of each ascending page (slicing is zero-copy).
        return assemble_pages([f if k == f.height else f.slice(f.height - k) for f, k in self.pages])

    def close(self) -> None:
        """Wait for this load's parses (the shared thread stays up for the next load)."""
        for parsed, _ in self._pending:
            parsed.cancel()
        wait([parsed for parsed, _ in self._pending])
        self._pending.clear()


class Client:
    """A reusable connection to the Webshare API (keyword-only configuration).

    Parameters
    ----------
    api_key : str, optional
        Defaults to the ``WEBSHARE_API_KEY`` environment variable. Never logged or shown.
    base_url : str, optional
        Defaults to ``WEBSHARE_BASE_URL``, then ``https://proxy.webshare.io``. ``http://`` is
        accepted only for loopback hosts.
    timeout : float
        Seconds for connecting and between received bytes (default 30).
    max_retries : int
        Retries of a failed request (429, 5xx, connection errors, cut or invalid bodies).
    requests_per_minute : float or None
        Client-side pacing (Webshare documents 240/min); ``None`` disables it.
    page_size : int
        Records asked per activity page (default 1000). A server returning fewer stays exact.
    progress : bool or None
        Default for the progress bar; ``None`` shows it in terminals and notebooks only.
    backoff, max_backoff, max_retry_after : float
        Retry timing: base and cap of the exponential backoff, cap on an honoured Retry-After.

    Notes
    -----
    A client is meant for one thread at a time (it wraps one connection pool); use one
    per thread. Its ``repr`` never shows the key.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 5,
        requests_per_minute: float | None = 240,
        page_size: int = 1000,
        progress: bool | None = None,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
    ) -> None:
        bad_type = isinstance(page_size, bool) or not isinstance(page_size, int)
        if bad_type or not 0 < page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"page_size must be an int in 1..{MAX_PAGE_SIZE}, got {page_size!r}.")
        self.page_size = page_size
        self.progress = check_progress(progress)
        self._http = HttpClient(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries,
            requests_per_minute=requests_per_minute, backoff=backoff, max_backoff=max_backoff,
            max_retry_after=max_retry_after,
        )

    @property
    def base_url(self) -> str:
        """The API origin requests go to."""
        return self._http.base_url

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far by this client (retries included)."""
        return self._http.request_count

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, page_size={self.page_size}, api_key=***)"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the pooled connections."""
        self._http.close()

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
        plan_id: int | None = None,
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
        plan_id : int, optional
            The plan to read (default: the account's default plan).
        search, error_reason, verification_category : str, optional
            API filters; ``error_reason="*"`` selects every failed request.
        min_bytes, max_bytes : int, optional
            Inclusive bounds on ``bytes``.
        progress : bool, optional
            Override the client's progress setting for this call.
        """
        filters = ActivityFilters(
            plan_id=plan_id, search=search, error_reason=error_reason, min_bytes=min_bytes,
            max_bytes=max_bytes, verification_category=verification_category,
        )
        shown = check_progress(progress)
        lo_us, hi_us, lo, hi = self._window(start, end)
        bar = Progress(self.progress if shown is None else shown, "activity")
        pipeline = _PagePipeline()
        cursor = ActivityCursor(
            self._http, pipeline.decode, lo_us=lo_us, hi_us=hi_us, filters=filters,
            page_size=self.page_size, big_page_size=min(MAX_PAGE_SIZE, self.page_size * 10),
            on_page=bar.update,
        )
        try:
            for parsed, keep in cursor.pages():
                pipeline.keep(parsed, keep)
            df = pipeline.result()
        finally:
            pipeline.close()
            bar.close()
        log.info("loaded %d records for [%s, %s) in %d pages", df.height, lo.isoformat(),
                 hi.isoformat(), bar.pages)
        return df

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


def load_activity(
    start: TimeLike,
    end: TimeLike | None = None,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    plan_id: int | None = None,
    search: str | None = None,
    error_reason: str | None = None,
    min_bytes: int | None = None,
    max_bytes: int | None = None,
    verification_category: str | None = None,
    progress: bool | None = None,
    archive: Any = None,
    requests_per_minute: float | None = 240,
) -> pl.DataFrame:
    """Load every activity record in ``[start, end)`` as a typed, ascending Polars frame.

    A one-shot :meth:`Client.activity` (see there for the parameters). With ``archive=`` (a
    path), the load goes through the local archive, which also serves history older than the
    API's 90 days; only ``plan_id`` may be combined with it. ``requests_per_minute`` paces
    the requests (``None``: no pacing, for local servers).
    """
    if archive is not None:
        extra = {"search": search, "error_reason": error_reason, "min_bytes": min_bytes,
                 "max_bytes": max_bytes, "verification_category": verification_category}
        given = [name for name, value in extra.items() if value is not None]
        if given:
            raise ConfigurationError(
                f"{', '.join(given)} cannot be combined with archive=...: the archive stores whole "
                "windows. Load with archive= and filter the frame, or drop archive=."
            )
        from wsframes.archive import load_with_archive  # type: ignore[attr-defined,unused-ignore]

        result: pl.DataFrame = load_with_archive(
            archive, start, end, plan_id=plan_id, api_key=api_key, base_url=base_url, progress=progress
        )
        return result
    with Client(api_key=api_key, base_url=base_url, requests_per_minute=requests_per_minute) as client:
        return client.activity(
            start, end, plan_id=plan_id, search=search, error_reason=error_reason, min_bytes=min_bytes,
            max_bytes=max_bytes, verification_category=verification_category, progress=progress,
        )
